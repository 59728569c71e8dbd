package dispatch

// Keys of the dispatch layer. The queue builds its own keys (internal/queue);
// these share its hash tags: {o:<order>} for per-order data, {v:<vendor>} for
// per-vendor data, so each key lives in its owner's cluster slot.
type keys struct{ prefix string }

// deliveries is a HASH of the order's delivery records: delivery id -> JSON record.
func (k keys) deliveries(orderID string) string { return k.prefix + ":{o:" + orderID + "}:deliveries" }

// delivery is a STRING locating a delivery: JSON {"vendor","order"}.
func (k keys) delivery(id string) string { return k.prefix + ":dlv:" + id }

// window is a HASH of the vendor's declared offline window: start, end (unix ms), set (unix ms).
func (k keys) window(vendor string) string { return k.prefix + ":{v:" + vendor + "}:window" }

// disabled is a STRING holding why the vendor's endpoint is disabled (410 Gone).
func (k keys) disabled(vendor string) string { return k.prefix + ":{v:" + vendor + "}:disabled" }

// pullFeed is a ZSET of the vendor's pullable orders: order id -> change sequence.
func (k keys) pullFeed(vendor string) string { return k.prefix + ":{v:" + vendor + "}:pull" }

// pullSeq is a STRING counter of the vendor's pull feed changes.
func (k keys) pullSeq(vendor string) string { return k.prefix + ":{v:" + vendor + "}:pullseq" }

// pullAck is a STRING holding the last cursor the vendor acknowledged.
func (k keys) pullAck(vendor string) string { return k.prefix + ":{v:" + vendor + "}:pullack" }

// origin is a STRING locating the delivery that sent message id msgID to a
// vendor that acks asynchronously: JSON {"vendor","order","delivery"}.
func (k keys) origin(msgID string) string { return k.prefix + ":origin:" + msgID }
