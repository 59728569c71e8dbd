// Package store keeps canonical orders in Redis: each order with its event
// history and idempotency fence under one hash tag, reference indexes, global
// idempotency answers with a TTL, and the Redis Stream the platform consumes.
// Multi-key writes are Lua scripts; keys are built only in keys.go. A bounded
// cache of decoded order heads (heads.go), checked against the document
// every read returns, spares decoding an order this process wrote or read
// last.
package store
