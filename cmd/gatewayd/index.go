package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/equus/sogateway/internal/orderindex"
	"github.com/equus/sogateway/internal/store"
)

// repairIndexLoop indexes orders a crash (or a Redis error) left marked
// between commit and index; any replica may run it.
func repairIndexLoop(ctx context.Context, ix *orderindex.Index, st *store.Store, log *slog.Logger) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := ix.Repair(ctx, st.GetOrder, time.Minute); err != nil && !errors.Is(err, context.Canceled) {
				log.Warn("order index repair failed; will retry", "err", err)
			} else if n > 0 {
				log.Debug("order index repaired", "orders", n)
			}
		}
	}
}
