package dispatch

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
)

// markFinished indexes a finished (Success or Failure) record by when it
// finished, so the janitor can delete it after retention.deliveries.
func (s *Service) markFinished(ctx context.Context, pipe redis.Pipeliner, d *Delivery) {
	if d.Status != model.DeliverySuccess && d.Status != model.DeliveryFailure {
		return
	}
	pipe.ZAdd(ctx, s.k.finished(), redis.Z{Score: float64(d.UpdatedAt.UnixMilli()), Member: d.OrderID + "|" + d.ID})
}

// TrimDeliveries deletes the delivery records that finished more than
// olderThan ago (Redis time), with their locators, and returns how many it
// deleted. The record of an order.submitted stays (it says which vendors
// serve the order; one per vendor and order), and a record replayed since it
// finished is left alone. It is idempotent; any replica may run it.
func (s *Service) TrimDeliveries(ctx context.Context, olderThan time.Duration) (int64, error) {
	now, err := s.rdb.Time(ctx).Result()
	if err != nil {
		return 0, fmt.Errorf("dispatch: redis time: %w", err)
	}
	cut := now.Add(-olderThan).UnixMilli()
	const step = 500
	var total int64
	for {
		members, err := s.rdb.ZRangeByScore(ctx, s.k.finished(), &redis.ZRangeBy{Min: "-inf", Max: fmt.Sprint(cut), Count: step}).Result()
		if err != nil {
			return total, fmt.Errorf("dispatch: finished deliveries: %w", err)
		}
		for _, m := range members {
			orderID, id, _ := strings.Cut(m, "|")
			rec, err := s.loadRecord(ctx, orderID, id)
			if err == nil && rec.Event != string(model.EventOrderSubmitted) &&
				(rec.Status == model.DeliverySuccess || rec.Status == model.DeliveryFailure) && rec.UpdatedAt.UnixMilli() <= cut {
				pipe := s.rdb.Pipeline()
				pipe.HDel(ctx, s.k.deliveries(orderID), id)
				pipe.Del(ctx, s.k.delivery(id))
				pipe.ZRem(ctx, s.k.vendorDeliveries(rec.Vendor), m)
				if _, err := pipe.Exec(ctx); err != nil {
					return total, fmt.Errorf("dispatch: trim delivery %s: %w", id, err)
				}
				total++
			}
			// Last, so a crash before it only means doing the same again.
			if err := s.rdb.ZRem(ctx, s.k.finished(), m).Err(); err != nil {
				return total, fmt.Errorf("dispatch: trim delivery %s: %w", id, err)
			}
		}
		if len(members) < step {
			return total, nil
		}
	}
}
