package store

// Every Redis key the store touches is built here. All keys of one order share
// the hash tag {o:<id>} so the order's scripts run on one Redis Cluster slot.

type keys struct{ prefix string }

// order is a HASH: v = version (int), doc = the order's current state as JSON
// (without messages and attachments, which are in their own lists), pub =
// events published to the stream, fdue = when its fences are next looked
// after (unix ms, Redis time; scripts.go).
// Bound: one per order (the order itself).
func (k keys) order(id string) string { return k.prefix + ":{o:" + id + "}:order" }

// events is a LIST of the order's events as JSON, append-only, oldest first.
// Bound: one per order: the order's own history, kept as long as the order.
func (k keys) events(id string) string { return k.prefix + ":{o:" + id + "}:events" }

// messages is a LIST of the order's messages as JSON, append-only, oldest first.
// Bound: one per order: the order's own history, kept as long as the order.
func (k keys) messages(id string) string { return k.prefix + ":{o:" + id + "}:messages" }

// attachments is a LIST of the order's attachments as JSON, append-only, oldest first.
// Bound: one per order: the order's own history, kept as long as the order.
func (k keys) attachments(id string) string { return k.prefix + ":{o:" + id + "}:attachments" }

// fenceAge is a ZSET fence key -> unix ms when it was recorded (Redis TIME);
// the order's scripts trim fence entries older than the retention by it.
// Bound: retention.fences (a write drops entries at most 1/24 of the retention after they passed it; the key expires at most the retention plus 1/24 of it after the last write).
func (k keys) fenceAge(id string) string { return k.prefix + ":{o:" + id + "}:fenceage" }

// orderKeys are the KEYS of the order scripts, in their order (scripts.go).
func (k keys) orderKeys(id string) []string {
	return []string{k.order(id), k.events(id), k.fence(id), k.fenceAge(id), k.messages(id), k.attachments(id)}
}

// fence is a HASH idempotency key -> outcome JSON: the per-order record that a
// message was applied, written by the same script as the change itself.
// Bound: retention.fences (a write drops entries at most 1/24 of the retention after they passed it; the key expires at most the retention plus 1/24 of it after the last write).
func (k keys) fence(id string) string { return k.prefix + ":{o:" + id + "}:fence" }

// ref is a STRING holding the order id for a partner's reference of a kind
// (requestor|servicer). It is claimed with SET NX before an order is created.
// Bound: one per partner reference of an order.
func (k keys) ref(partner, kind, ref string) string {
	return k.prefix + ":{r:" + partner + ":" + kind + "}:" + ref
}

// idem is a STRING (with TTL) holding the first outcome of an inbound message.
// Bound: TTL redis.idempotency_ttl.
func (k keys) idem(key string) string { return k.prefix + ":idem:" + key }

// stream is the STREAM of canonical events the platform reads with a consumer group.
// Bound: retention.events (janitor, XTRIM MINID by Redis time) and redis.stream_max_len.
func (k keys) stream() string { return k.prefix + ":events" }

// outbox is a SET of order ids whose events may not all be on the stream yet.
// Bound: orders whose events are not on the stream yet; the publisher drains it.
func (k keys) outbox() string { return k.prefix + ":outbox" }

// orderIndex is a ZSET of order ids scored by creation time (ms), for listing.
// Bound: one entry per order.
func (k keys) orderIndex() string { return k.prefix + ":orders" }

// nonce is a STRING (with TTL) recording a WS-Security nonce already used.
// Bound: TTL, the WS-Security timestamp window.
func (k keys) nonce(key string) string { return k.prefix + ":nonce:" + key }
