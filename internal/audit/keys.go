package audit

// Every Redis key of the audit trail is built here.
type keys struct{ prefix string }

// stream is the STREAM of audit records, fields: at, who, action, kind, id, before, after.
// Bound: MAXLEN about 1,000,000 records (audit.Options.MaxLen).
func (k keys) stream() string { return k.prefix + ":audit" }
