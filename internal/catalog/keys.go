package catalog

// Every Redis key of the catalog is built here. All share the hash tag
// {catalog}, so one script changes a document, its version and the revision
// on one Redis Cluster slot.
type keys struct{ prefix string }

// docs is a HASH of one kind's documents: name -> JSON document.
func (k keys) docs(kind Kind) string { return k.prefix + ":{catalog}:" + string(kind) + "s" }

// versions is a HASH of one kind's versions: name -> version (1 on create, +1 per change).
func (k keys) versions(kind Kind) string { return k.prefix + ":{catalog}:" + string(kind) + "s:v" }

// rev is a STRING counter bumped by every change of any kind.
func (k keys) rev() string { return k.prefix + ":{catalog}:rev" }

// seeded is a STRING set once the catalog was seeded from configs/gateway.yaml.
func (k keys) seeded() string { return k.prefix + ":{catalog}:seeded" }

// channel is the PUBLISH channel announcing a new revision (not a key).
func (k keys) channel() string { return k.prefix + ":catalog:changed" }
