package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/queue"
)

// DeadLetters lists the vendor's failed deliveries, most recent first,
// skipping offset and returning at most limit (<= 0 means 100).
func (s *Service) DeadLetters(ctx context.Context, vendorName string, offset, limit int) ([]*Delivery, error) {
	v, err := s.vendor(vendorName)
	if err != nil {
		return nil, err
	}
	jobs, err := s.q.Dead(ctx, v.name, offset, limit)
	if err != nil {
		return nil, fmt.Errorf("dispatch: dead letters of %s: %w", v.name, err)
	}
	out := make([]*Delivery, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, jobDelivery(j))
	}
	return out, nil
}

func jobDelivery(j *queue.Job) *Delivery {
	var p payload
	_ = json.Unmarshal(j.Payload, &p)
	d := &Delivery{Delivery: model.Delivery{ID: j.ID, OrderID: p.OrderID, Partner: j.Vendor, Transport: p.Transport,
		Attempts: j.Attempts, LastError: j.LastError, CreatedAt: j.CreatedAt.UTC(), UpdatedAt: j.CreatedAt.UTC()}, Vendor: j.Vendor}
	if p.Event != nil {
		d.EventID, d.Event = p.Event.ID, string(p.Event.Type)
	}
	switch j.State {
	case queue.StateDead:
		d.Status = model.DeliveryFailure
	case queue.StateDone:
		d.Status = model.DeliverySuccess
	default:
		d.Status = model.DeliverySending
	}
	return d
}

// Replay puts one failed delivery back in its vendor's queue, due now, with a
// fresh attempt budget (same delivery id), and re-enables a vendor disabled by
// a 410. It returns ErrUnknownDelivery, or a model.Conflict when the delivery
// has not failed.
func (s *Service) Replay(ctx context.Context, deliveryID string) (*Delivery, error) {
	loc, err := s.rdb.Get(ctx, s.k.delivery(deliveryID)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("dispatch: %w", &model.NotFoundError{What: "delivery", ID: deliveryID, Err: ErrUnknownDelivery})
	}
	if err != nil {
		return nil, fmt.Errorf("dispatch: delivery %s: %w", deliveryID, err)
	}
	var l struct{ Vendor, Order string }
	if err := json.Unmarshal([]byte(loc), &l); err != nil {
		return nil, fmt.Errorf("dispatch: delivery %s: %w", deliveryID, err)
	}
	if err := s.rdb.Del(ctx, s.k.disabled(l.Vendor)).Err(); err != nil {
		return nil, fmt.Errorf("dispatch: re-enable %s: %w", l.Vendor, err)
	}
	if err := s.q.Replay(ctx, l.Vendor, deliveryID); err != nil {
		switch {
		case errors.Is(err, queue.ErrNotDead):
			return nil, model.Conflict("status", "delivery %s has not failed, so it cannot be replayed", deliveryID)
		case errors.Is(err, model.ErrNotFound):
			return nil, fmt.Errorf("dispatch: %w", &model.NotFoundError{What: "delivery", ID: deliveryID, Err: ErrUnknownDelivery})
		}
		return nil, fmt.Errorf("dispatch: replay %s: %w", deliveryID, err)
	}
	rec, err := s.loadRecord(ctx, l.Order, deliveryID)
	if err != nil {
		return nil, err
	}
	s.markReplayed(ctx, rec)
	return rec, nil
}

// ReplayDead replays every dead letter of the vendor (oldest first, so each
// order keeps its order), re-enables it if a 410 disabled it, and returns how
// many were replayed.
func (s *Service) ReplayDead(ctx context.Context, vendorName string) (int, error) {
	v, err := s.vendor(vendorName)
	if err != nil {
		return 0, err
	}
	var dead []*queue.Job
	for off := 0; ; off += 500 {
		page, err := s.q.Dead(ctx, v.name, off, 500)
		if err != nil {
			return 0, fmt.Errorf("dispatch: dead letters of %s: %w", v.name, err)
		}
		dead = append(dead, page...)
		if len(page) < 500 {
			break
		}
	}
	if err := s.rdb.Del(ctx, s.k.disabled(v.name)).Err(); err != nil {
		return 0, fmt.Errorf("dispatch: re-enable %s: %w", v.name, err)
	}
	n, err := s.q.ReplayDead(ctx, v.name)
	if err != nil {
		return n, fmt.Errorf("dispatch: replay dead letters of %s: %w", v.name, err)
	}
	for _, j := range dead {
		if rec, err := s.loadRecord(ctx, jobDelivery(j).OrderID, j.ID); err == nil {
			s.markReplayed(ctx, rec)
		}
	}
	return n, nil
}

func (s *Service) markReplayed(ctx context.Context, rec *Delivery) {
	now := s.now().UTC()
	rec.Status, rec.Attempts, rec.NextAttemptAt = model.DeliverySending, 0, &now
	s.saveRecord(ctx, rec)
}

// VendorsOf lists the vendors an order was sent to (its delivery records),
// so a key bound to a vendor sees the orders sent to it.
func (s *Service) VendorsOf(ctx context.Context, orderID string) ([]string, error) {
	all, err := s.rdb.HVals(ctx, s.k.deliveries(orderID)).Result()
	if err != nil {
		return nil, fmt.Errorf("dispatch: vendors of %s: %w", orderID, err)
	}
	seen := map[string]bool{}
	var out []string
	for _, doc := range all {
		d, err := decodeRecord(doc)
		if err != nil {
			return nil, err
		}
		if !seen[d.Vendor] {
			seen[d.Vendor] = true
			out = append(out, d.Vendor)
		}
	}
	return out, nil
}
