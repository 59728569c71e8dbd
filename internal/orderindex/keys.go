package orderindex

// Every Redis key of the index is built here; all share the hash tag {ix}
// (the sets span orders, so they cannot live in an order's slot; one tag puts
// them on one Redis Cluster slot so one script keeps them consistent).
type keys struct{ prefix string }

// base is the prefix of every index key ("sog:{ix}:"); the script derives
// the set keys from it, exactly as set() does.
func (k keys) base() string { return k.prefix + ":{ix}:" }

// entry is a HASH of what an order is indexed under: v (version), at (score),
// partner, company, service_type, status, refs (unit-separated).
// Bound: one per order, as long as the order is kept.
func (k keys) entry(id string) string { return k.base() + "o:" + id }

// set is a ZSET of the order ids whose field has value, scored by last update (ms).
// Bound: each order is a member of one set per indexed field value it has now (moved, not added, on change).
func (k keys) set(field, value string) string { return k.base() + field + ":" + value }

// all is a ZSET of every indexed order id, scored by last update (ms).
// Bound: one member per order.
func (k keys) all() string { return k.base() + "all" }

// dirty is a HASH of orders being committed: id -> "<version>|<unix ms>";
// an entry left behind by a crash is repaired by Repair.
// Bound: orders being committed now, plus those a crash left until the repair loop indexes them.
func (k keys) dirty() string { return k.base() + "dirty" }
