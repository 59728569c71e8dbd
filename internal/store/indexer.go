package store

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
)

// Indexer keeps search indexes that span orders (internal/orderindex). They
// cannot share an order's cluster slot, so they are kept by their own step:
// Mark goes into the commit's pipeline ahead of the order's script, Apply
// (ApplyIn) runs after it; a crash in between leaves the mark for the
// indexer's repair.
type Indexer interface {
	// Mark records in p that order id is about to reach version.
	Mark(ctx context.Context, p redis.Pipeliner, id string, version int64)
	// Apply indexes o at its version (never going back to an older one).
	Apply(ctx context.Context, o *model.Order) error
	// ApplyIn is Apply queued in p, the pipeline that publishes the commit's
	// events, so indexing costs no round trip of its own; a failure leaves
	// the mark for the repair. The store runs p with luascript.Exec, so a
	// script queued by luascript.Script.Queue survives NOSCRIPT.
	ApplyIn(ctx context.Context, p redis.Pipeliner, o *model.Order)
}

// SetIndexer makes every later commit maintain ix; call it before serving.
func (s *Store) SetIndexer(ix Indexer) { s.ix = ix }

func (s *Store) markIndex(ctx context.Context, p redis.Pipeliner, id string, version int64) {
	if s.ix != nil {
		s.ix.Mark(ctx, p, id, version)
	}
}

// indexIn queues applying o to the indexes in p; a failure leaves the mark
// for the repair.
func (s *Store) indexIn(ctx context.Context, p redis.Pipeliner, o *model.Order) {
	if s.ix != nil {
		s.ix.ApplyIn(ctx, p, o)
	}
}
