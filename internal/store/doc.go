// Package store keeps canonical orders in Redis: each order with its event
// history and idempotency fence under one hash tag, reference indexes, global
// idempotency answers with a TTL, and the Redis Stream the platform consumes.
// Multi-key writes are Lua scripts; keys are built only in keys.go.
package store
