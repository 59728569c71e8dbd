package store

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisNow returns Redis's clock (TIME), the one clock every replica shares.
func RedisNow(ctx context.Context, rdb redis.UniversalClient) (time.Time, error) {
	t, err := rdb.Time(ctx).Result()
	if err != nil {
		return time.Time{}, fmt.Errorf("store: redis time: %w", err)
	}
	return t, nil
}

// TrimEvents removes the event stream's entries older than olderThan (by
// entry id, which Redis assigns from its own clock) and returns how many went.
// It is idempotent; any replica may run it.
func (s *Store) TrimEvents(ctx context.Context, olderThan time.Duration) (int64, error) {
	now, err := RedisNow(ctx, s.rdb)
	if err != nil {
		return 0, err
	}
	cut := now.Add(-olderThan).UnixMilli()
	if cut <= 0 {
		return 0, nil
	}
	n, err := s.rdb.XTrimMinID(ctx, s.k.stream(), strconv.FormatInt(cut, 10)+"-0").Result()
	if err != nil {
		return 0, fmt.Errorf("store: trim event stream: %w", err)
	}
	return n, nil
}

// Sizes measures the store's unbounded-looking structures: entries on the
// event stream, orders waiting in the outbox, orders in the index, and the
// number of idempotency answers and WS-Security nonces (TTL keys, counted with
// SCAN, so this costs a pass over the key space: the janitor calls it once per
// run, not per scrape).
func (s *Store) Sizes(ctx context.Context) (map[string]int64, error) {
	pipe := s.rdb.Pipeline()
	stream := pipe.XLen(ctx, s.k.stream())
	outbox := pipe.SCard(ctx, s.k.outbox())
	orders := pipe.ZCard(ctx, s.k.orderIndex())
	_, _ = pipe.Exec(ctx)
	out := map[string]int64{"event_stream_entries": stream.Val(), "outbox_orders": outbox.Val(), "orders": orders.Val()}
	for _, c := range []*redis.IntCmd{stream, outbox, orders} {
		if err := c.Err(); err != nil && err != redis.Nil {
			return nil, fmt.Errorf("store: sizes: %w", err)
		}
	}
	var err error
	if out["idempotency_keys"], err = CountKeys(ctx, s.rdb, s.k.idem("*")); err != nil {
		return nil, err
	}
	if out["wss_nonces"], err = CountKeys(ctx, s.rdb, s.k.nonce("*")); err != nil {
		return nil, err
	}
	return out, nil
}

// CountKeys counts the keys matching pattern with SCAN, on every master of a
// Redis Cluster.
func CountKeys(ctx context.Context, rdb redis.UniversalClient, pattern string) (int64, error) {
	var total atomic.Int64
	scan := func(ctx context.Context, c redis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, pattern, 1000).Result()
			if err != nil {
				return err
			}
			total.Add(int64(len(keys)))
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	var err error
	switch c := rdb.(type) {
	case *redis.ClusterClient:
		err = c.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	default:
		// One server (a plain, Sentinel or auto-pipelined client) holds every key.
		err = scan(ctx, rdb)
	}
	if err != nil {
		return 0, fmt.Errorf("store: count %s: %w", pattern, err)
	}
	return total.Load(), nil
}
