package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/luascript"
)

// Pipelines that may hold scripts (the commit's, this one, and what extra
// queues: the index apply, dispatch's pull marks) run through luascript.Exec,
// which re-runs a script Redis answered NOSCRIPT to (its script cache emptied
// by a restart, a failover or SCRIPT FLUSH).
//
// publishFresh puts the events just written on the stream in one round trip
// when nothing older is waiting (pub = n - len(docs)); otherwise it falls
// back to publishOrder, which sends the whole backlog in order.
func (s *Store) publishFresh(ctx context.Context, orderID string, pub, n int64, docs, ids, types []string, extra func(redis.Pipeliner)) {
	if pub != n-int64(len(docs)) {
		if extra != nil {
			p := s.rdb.Pipeline()
			extra(p)
			_, _ = luascript.Exec(ctx, p)
		}
		s.publish(ctx, orderID)
		return
	}
	p := s.rdb.Pipeline()
	for i := range docs {
		p.XAdd(ctx, &redis.XAddArgs{Stream: s.k.stream(), MaxLen: s.maxLen, Approx: true,
			Values: []any{"event_id", ids[i], "order_id", orderID, "type", types[i], "event", docs[i]}})
	}
	publishScript.Queue(ctx, p, []string{s.k.order(orderID)}, n)
	p.SRem(ctx, s.k.outbox(), orderID)
	if extra != nil {
		extra(p)
	}
	_, _ = luascript.Exec(ctx, p) // a failure leaves the order in the outbox for PublishPending
}

// publish puts an order's not yet published events on the stream. Delivery to
// the stream is at least once: a crash between XADD and the mark leaves the
// order in the outbox and PublishPending sends the rest again; consumers drop
// repeats by the event id carried in every entry.
func (s *Store) publish(ctx context.Context, orderID string) {
	_ = s.publishOrder(ctx, orderID)
}

func (s *Store) publishOrder(ctx context.Context, orderID string) error {
	pubStr, err := s.rdb.HGet(ctx, s.k.order(orderID), "pub").Result()
	if errors.Is(err, redis.Nil) {
		return s.rdb.SRem(ctx, s.k.outbox(), orderID).Err()
	}
	if err != nil {
		return err
	}
	pub, _ := strconv.ParseInt(pubStr, 10, 64)
	raw, err := s.rdb.LRange(ctx, s.k.events(orderID), pub, -1).Result()
	if err != nil {
		return err
	}
	for i, r := range raw {
		var head struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		}
		_ = json.Unmarshal([]byte(r), &head)
		if err := s.rdb.XAdd(ctx, &redis.XAddArgs{Stream: s.k.stream(), MaxLen: s.maxLen, Approx: true,
			Values: []any{"event_id", head.ID, "order_id", orderID, "type", head.Type, "event", r}}).Err(); err != nil {
			return err
		}
		if err := publishScript.Run(ctx, s.rdb, []string{s.k.order(orderID)}, pub+int64(i)+1).Err(); err != nil {
			return err
		}
	}
	return s.rdb.SRem(ctx, s.k.outbox(), orderID).Err()
}

// PublishPending publishes the events of every order left in the outbox (after
// a crash or a Redis error) and returns how many orders it handled. Any replica
// may run it.
func (s *Store) PublishPending(ctx context.Context) (int, error) {
	ids, err := s.rdb.SMembers(ctx, s.k.outbox()).Result()
	if err != nil {
		return 0, fmt.Errorf("store: outbox: %w", err)
	}
	for _, id := range ids {
		if err := s.publishOrder(ctx, id); err != nil {
			return 0, fmt.Errorf("store: publish %s: %w", id, err)
		}
	}
	return len(ids), nil
}
