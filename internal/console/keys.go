package console

// keys builds every Redis key of the console. Sessions are stored under the
// SHA-256 of their cookie value, so a Redis dump does not hold live cookies.
type keys struct{ prefix string }

// session is a hash: principal (JSON), csrf, created (unix ms), flash.
// Bound: TTL, the session lifetime.
func (k keys) session(idHash string) string { return k.prefix + ":console:session:" + idHash }
