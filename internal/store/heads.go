package store

import (
	"container/list"
	"sync"

	"github.com/equus/sogateway/internal/model"
)

// headCache keeps, per order id, the last head document this process read
// or wrote together with its decoded order, for the most recent max orders.
// A read whose document is byte for byte the cached one takes a copy of the
// decoded order instead of decoding the document again. It never answers
// without the read: the document Redis returns is the check, so a change by
// another replica (a different document) is never missed, and what a read
// returns is what decoding would have returned.
type headCache struct {
	mu  sync.Mutex
	max int
	ll  *list.List // of *headEntry, most recent first
	m   map[string]*list.Element
}

type headEntry struct {
	id, doc string
	// o is the decoded head; never handed out, only copies of it.
	o *model.Order
}

func newHeadCache(max int) *headCache {
	if max <= 0 {
		return nil
	}
	return &headCache{max: max, ll: list.New(), m: make(map[string]*list.Element, max)}
}

// get returns a copy of the head of order id when doc is the cached
// document, else nil.
func (c *headCache) get(id, doc string) *model.Order {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	e, ok := c.m[id]
	var o *model.Order
	if ok && e.Value.(*headEntry).doc == doc {
		c.ll.MoveToFront(e)
		o = e.Value.(*headEntry).o
	}
	c.mu.Unlock()
	if o == nil {
		return nil
	}
	return o.Clone()
}

// put records that doc decodes to o (which the cache keeps: the caller
// hands over a copy of its own).
func (c *headCache) put(id, doc string, o *model.Order) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		e.Value = &headEntry{id: id, doc: doc, o: o}
		c.ll.MoveToFront(e)
		return
	}
	c.m[id] = c.ll.PushFront(&headEntry{id: id, doc: doc, o: o})
	if c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.m, last.Value.(*headEntry).id)
	}
}

// headOf returns a copy of o as its head document decodes: without history,
// Stored zero.
func headOf(o *model.Order) *model.Order {
	msgs, atts := o.Messages, o.Attachments
	o.Messages, o.Attachments = nil, nil
	h := o.Clone()
	o.Messages, o.Attachments = msgs, atts
	h.Stored = model.HistoryCount{}
	return h
}
