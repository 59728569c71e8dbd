package catalog

// Every Redis key of the catalog is built here. All share the hash tag
// {catalog}, so one script changes a document, its version and the revision
// on one Redis Cluster slot.
type keys struct{ prefix string }

// docs is a HASH of one kind's documents: name -> JSON document.
// Bound: one field per configured item of the kind (vendors, definitions, groups, ...).
func (k keys) docs(kind Kind) string { return k.prefix + ":{catalog}:" + string(kind) + "s" }

// versions is a HASH of one kind's versions: name -> version (1 on create, +1 per change).
// Bound: one field per item of the kind that exists or existed.
func (k keys) versions(kind Kind) string { return k.prefix + ":{catalog}:" + string(kind) + "s:v" }

// rev is a STRING counter bumped by every change of any kind.
// Bound: one key.
func (k keys) rev() string { return k.prefix + ":{catalog}:rev" }

// seeded is a STRING set once the catalog was seeded from configs/gateway.yaml.
// Bound: one key.
func (k keys) seeded() string { return k.prefix + ":{catalog}:seeded" }

// channel is the PUBLISH channel announcing a new revision (not a key).
func (k keys) channel() string { return k.prefix + ":catalog:changed" }
