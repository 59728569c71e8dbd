package dispatch

import (
	"context"
	"fmt"

	"github.com/equus/sogateway/internal/queue"
)

// QueueStats are a vendor's queue figures at one instant: depth, due, leased,
// held, dead and the oldest waiting delivery's age (the numbers /metrics
// exports, for one vendor).
type QueueStats = queue.Stats

// QueueStats returns the vendor's queue figures, or ErrUnknownVendor.
func (s *Service) QueueStats(ctx context.Context, vendorName string) (QueueStats, error) {
	v, err := s.vendor(vendorName)
	if err != nil {
		return QueueStats{}, err
	}
	st, err := s.q.Stats(ctx, v.name)
	if err != nil {
		return QueueStats{}, fmt.Errorf("dispatch: queue of %s: %w", v.name, err)
	}
	return st, nil
}
