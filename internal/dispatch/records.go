package dispatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/queue"
)

// DeliveryID is the stable id of the delivery of event to vendor over transport.
func DeliveryID(eventID, vendor, transport string) string {
	h := sha256.Sum256([]byte(eventID + "\x00" + vendor + "\x00" + transport))
	return "dlv_" + hex.EncodeToString(h[:12])
}

// enqueue creates the delivery: the queue job first (idempotent on the id),
// then the record (HSETNX, so a worker's later state is never overwritten).
func (s *Service) enqueue(ctx context.Context, v *vendor, o *model.Order, ev *model.Event, render, transport string) (*Delivery, error) {
	id := DeliveryID(ev.ID, v.name, transport)
	p, err := json.Marshal(payload{OrderID: o.ID, Event: ev, Render: render, Transport: transport})
	if err != nil {
		return nil, fmt.Errorf("dispatch: encode job: %w", err)
	}
	j := &queue.Job{ID: id, Vendor: v.name, Group: o.ID, Payload: p, MaxAttempts: v.retry.MaxAttempts,
		Meta: map[string]string{"order": o.ID, "event": string(ev.Type), "transport": transport}}
	if err := s.q.Enqueue(ctx, j, time.Time{}); err != nil {
		return nil, fmt.Errorf("dispatch: enqueue %s: %w", id, err)
	}
	now := s.now().UTC()
	d := &Delivery{Delivery: model.Delivery{ID: id, OrderID: o.ID, EventID: ev.ID, Partner: v.name, Transport: transport,
		Status: model.DeliverySending, CreatedAt: now, UpdatedAt: now}, Event: string(ev.Type), Vendor: v.name, Seq: s.nextSeq(now)}
	if !j.NextAt.IsZero() {
		t := j.NextAt
		d.NextAttemptAt = &t
	}
	if v.cfg.AwaitAck {
		if err := s.rememberOrigin(ctx, v, o.ID, id); err != nil {
			return nil, err
		}
	}
	doc := d.record()
	loc, _ := json.Marshal(map[string]string{"vendor": v.name, "order": o.ID})
	pipe := s.rdb.Pipeline()
	pipe.HSetNX(ctx, s.k.deliveries(o.ID), id, doc)
	pipe.Set(ctx, s.k.delivery(id), loc, 0)
	pipe.ZAddNX(ctx, s.k.vendorDeliveries(v.name), redis.Z{Score: float64(now.UnixMilli()), Member: o.ID + "|" + id})
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("dispatch: record delivery %s: %w", id, err)
	}
	return d, nil
}

// deliveryJSON is the stored record (Seq kept).
type deliveryJSON struct {
	*Delivery
	Seq int64 `json:"seq"`
}

// record encodes the stored form of d, Seq included (API answers leave it out).
func (d *Delivery) record() []byte {
	b, _ := json.Marshal(deliveryJSON{Delivery: d, Seq: d.Seq})
	return b
}

// saveRecord overwrites a delivery record with the worker's view.
func (s *Service) saveRecord(ctx context.Context, d *Delivery) {
	d.UpdatedAt = s.now().UTC()
	pipe := s.rdb.Pipeline()
	pipe.HSet(ctx, s.k.deliveries(d.OrderID), d.ID, d.record())
	s.markFinished(ctx, pipe, d)
	if _, err := pipe.Exec(ctx); err != nil {
		s.log.Warn("dispatch: delivery record not updated", "delivery", d.ID, "err", err)
	}
}

func (s *Service) loadRecord(ctx context.Context, orderID, id string) (*Delivery, error) {
	doc, err := s.rdb.HGet(ctx, s.k.deliveries(orderID), id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("dispatch: %w", &model.NotFoundError{What: "delivery", ID: id, Err: ErrUnknownDelivery})
	}
	if err != nil {
		return nil, fmt.Errorf("dispatch: delivery %s: %w", id, err)
	}
	return decodeRecord(doc)
}

func decodeRecord(doc string) (*Delivery, error) {
	var r struct {
		Delivery
		Seq int64 `json:"seq"`
	}
	if err := json.Unmarshal([]byte(doc), &r); err != nil {
		return nil, fmt.Errorf("dispatch: decode delivery: %w", err)
	}
	d := r.Delivery
	d.Seq = r.Seq
	return &d, nil
}

// Deliveries lists the order's delivery records, oldest first, with the live
// queue state (attempts, next attempt, last error, held until) of those still
// Sending. It returns an empty list for an order without deliveries, and an
// error wrapping model.ErrNotFound for an unknown order.
func (s *Service) Deliveries(ctx context.Context, orderID string) ([]*Delivery, error) {
	all, err := s.rdb.HGetAll(ctx, s.k.deliveries(orderID)).Result()
	if err != nil {
		return nil, fmt.Errorf("dispatch: deliveries of %s: %w", orderID, err)
	}
	if len(all) == 0 {
		if _, err := s.st.GetOrder(ctx, orderID); err != nil {
			return nil, fmt.Errorf("dispatch: deliveries: %w", err)
		}
	}
	out := make([]*Delivery, 0, len(all))
	for _, doc := range all {
		d, err := s.readRecord(ctx, doc)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Seq != out[j].Seq {
			return out[i].Seq < out[j].Seq
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// overlay copies the queue's live view of a job onto its record.
func overlay(d *Delivery, j *queue.Job) {
	d.Attempts = j.Attempts
	if j.LastError != "" {
		d.LastError = j.LastError
	}
	d.NextAttemptAt, d.HeldUntil = nil, nil
	switch j.State {
	case queue.StateDone:
		d.Status = model.DeliverySuccess
	case queue.StateDead:
		d.Status = model.DeliveryFailure
	default:
		d.Status = model.DeliverySending
		if !j.NextAt.IsZero() {
			t := j.NextAt.UTC()
			d.NextAttemptAt = &t
		}
		if j.HeldUntil != nil {
			t := j.HeldUntil.UTC()
			d.HeldUntil = &t
		}
	}
}

// submittedTo returns the vendors that the delivery records all (JSON) show
// an order.submitted to.
func submittedTo(all []string) map[string]bool {
	sent := map[string]bool{}
	for _, doc := range all {
		if d, err := decodeRecord(doc); err == nil && d.Event == string(model.EventOrderSubmitted) {
			sent[d.Vendor] = true
		}
	}
	return sent
}

// readRecord decodes a stored delivery record and, while it is still Sending
// and not awaiting the vendor's ack, overlays the queue's state of its job
// (attempts, next attempt, last error, held until).
func (s *Service) readRecord(ctx context.Context, doc string) (*Delivery, error) {
	d, err := decodeRecord(doc)
	if err != nil {
		return nil, err
	}
	if d.Status == model.DeliverySending && !d.AwaitingAck {
		if j, err := s.q.Get(ctx, d.Vendor, d.ID); err == nil {
			overlay(d, j)
		}
	}
	return d, nil
}
