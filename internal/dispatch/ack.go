package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
)

// AckInfo is what a vendor's asynchronous Ack said about a delivery (EMG).
type AckInfo struct {
	// StatusCode is the Ack's status code (2xx accepted, 4xx/5xx refused).
	StatusCode int `json:"status_code"`
	// ServicerID is the vendor's reference for the order, when it gave one.
	ServicerID string `json:"servicer_id,omitempty"`
	// Reason is the vendor's reason for a refusal.
	Reason string `json:"reason,omitempty"`
	// EventID is the inbound event that carried the Ack.
	EventID string    `json:"event_id"`
	At      time.Time `json:"at"`
}

// originRecord is what keys.origin holds.
type originRecord struct {
	Vendor   string `json:"vendor"`
	Order    string `json:"order"`
	Delivery string `json:"delivery"`
}

// rememberOrigin records which delivery sent the message id of delivery id
// (for vendors with await_ack), for as long as the queue keeps jobs.
func (s *Service) rememberOrigin(ctx context.Context, v *vendor, orderID, id string) error {
	b, _ := json.Marshal(originRecord{Vendor: v.name, Order: orderID, Delivery: id})
	ttl := v.retry.MaxAge + 24*time.Hour
	if err := s.rdb.Set(ctx, s.k.origin(MessageID(id)), b, ttl).Err(); err != nil {
		return fmt.Errorf("dispatch: remember message id of %s: %w", id, err)
	}
	return nil
}

// correlate settles the delivery an inbound Ack names (ev.Data origination_id,
// status_code, reason; the order's servicer reference): a 2xx status code
// marks it Success and records the vendor's reference, any other marks it
// Failure with the reason. Events that name no known message are ignored.
func (s *Service) correlate(ctx context.Context, o *model.Order, ev *model.Event) error {
	if ev == nil || ev.Direction != model.DirectionIn {
		return nil
	}
	oid, _ := ev.Data["origination_id"].(string)
	if oid == "" {
		return nil
	}
	raw, err := s.rdb.Get(ctx, s.k.origin(oid)).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dispatch: correlate %s: %w", oid, err)
	}
	var or originRecord
	if err := json.Unmarshal([]byte(raw), &or); err != nil || or.Order != o.ID {
		return nil // a message id of another order: not this Ack's to settle
	}
	rec, err := s.loadRecord(ctx, or.Order, or.Delivery)
	if err != nil {
		return err
	}
	code := statusCode(ev.Data["status_code"])
	ack := &AckInfo{StatusCode: code, EventID: ev.ID, At: s.now().UTC()}
	rec.AwaitingAck, rec.NextAttemptAt, rec.HeldUntil = false, nil, nil
	if code >= 200 && code < 300 {
		ack.ServicerID = o.Refs.Servicer
		rec.Status, rec.LastError = model.DeliverySuccess, ""
	} else {
		ack.Reason, _ = ev.Data["reason"].(string)
		rec.Status = model.DeliveryFailure
		rec.LastError = fmt.Sprintf("%s refused the message with status code %d", or.Vendor, code)
		if ack.Reason != "" {
			rec.LastError += ": " + ack.Reason
		}
	}
	rec.Ack = ack
	s.saveRecord(ctx, rec)
	return nil
}

func statusCode(v any) int {
	switch x := v.(type) {
	case float64:
		return int(x)
	case int:
		return x
	case int64:
		return int(x)
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	case string:
		n, _ := strconv.Atoi(x)
		return n
	}
	return 0
}
