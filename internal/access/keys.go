package access

// Every Redis key this package touches is built here. All share the hash tag
// {apikeys} so a key's record and the listing set change in one MULTI on a
// Redis Cluster.
type keys struct{ prefix string }

// key is a HASH of one API key: name, scopes (comma-separated), partner,
// vendor, created_at (RFC 3339), created_by, hash (hex SHA-256 of the secret).
// Bound: one per API key an admin created.
func (k keys) key(id string) string { return k.prefix + ":{apikeys}:key:" + id }

// index is a SET of every API key id, for listing.
// Bound: one member per API key an admin created.
func (k keys) index() string { return k.prefix + ":{apikeys}:ids" }
