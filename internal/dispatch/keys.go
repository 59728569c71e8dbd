package dispatch

// Keys of the dispatch layer. The queue builds its own keys (internal/queue);
// these share its hash tags: {o:<order>} for per-order data, {v:<vendor>} for
// per-vendor data, so each key lives in its owner's cluster slot.
type keys struct{ prefix string }

// deliveries is a HASH of the order's delivery records: delivery id -> JSON record.
// Bound: retention.deliveries (janitor) for finished records; the order.submitted record (one per vendor and order) stays with the order.
func (k keys) deliveries(orderID string) string { return k.prefix + ":{o:" + orderID + "}:deliveries" }

// delivery is a STRING locating a delivery: JSON {"vendor","order"}.
// Bound: retention.deliveries (janitor), with its record.
func (k keys) delivery(id string) string { return k.prefix + ":dlv:" + id }

// finished is a ZSET of finished (Success or Failure) delivery records,
// "<order id>|<delivery id>" scored by when they finished (unix ms); the
// janitor deletes records older than retention.deliveries through it.
// Bound: retention.deliveries (janitor).
func (k keys) finished() string { return k.prefix + ":dlvdone" }

// window is a HASH of the vendor's declared offline window: start, end (unix ms), set (unix ms).
// Bound: one per vendor.
func (k keys) window(vendor string) string { return k.prefix + ":{v:" + vendor + "}:window" }

// disabled is a STRING holding why the vendor's endpoint is disabled (410 Gone).
// Bound: one per vendor.
func (k keys) disabled(vendor string) string { return k.prefix + ":{v:" + vendor + "}:disabled" }

// pullFeed is a ZSET of the vendor's pullable orders: order id -> change sequence.
// Bound: one member per order the vendor may pull.
func (k keys) pullFeed(vendor string) string { return k.prefix + ":{v:" + vendor + "}:pull" }

// pullSeq is a STRING counter of the vendor's pull feed changes.
// Bound: one per vendor.
func (k keys) pullSeq(vendor string) string { return k.prefix + ":{v:" + vendor + "}:pullseq" }

// pullAck is a STRING holding the last cursor the vendor acknowledged.
// Bound: one per vendor.
func (k keys) pullAck(vendor string) string { return k.prefix + ":{v:" + vendor + "}:pullack" }

// origin is a STRING locating the delivery that sent message id msgID to a
// vendor that acks asynchronously: JSON {"vendor","order","delivery"}.
// Bound: TTL, set when the message is sent.
func (k keys) origin(msgID string) string { return k.prefix + ":origin:" + msgID }

// vendorDeliveries is a ZSET of the vendor's delivery records,
// "<order id>|<delivery id>" scored by when they were created (unix ms), for
// listing a vendor's deliveries by status.
// Bound: retention.deliveries (janitor), with its record; an order.submitted record's member stays with its order.
func (k keys) vendorDeliveries(vendor string) string {
	return k.prefix + ":{v:" + vendor + "}:deliveries"
}
