package store_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// commitMessage is one inbound update as intake commits it: read the head,
// add a message with a Description-sized text, write with a fence.
func commitMessage(ctx context.Context, s *store.Store, id string, i int) error {
	o, err := s.GetOrderHead(ctx, id)
	if err != nil {
		return err
	}
	if _, err := o.Apply(&model.Patch{Messages: []model.Message{{Direction: model.DirectionIn, Text: strings.Repeat("x", 200) + fmt.Sprint(i)}}}, model.ApplyOptions{}); err != nil {
		return err
	}
	return s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: fmt.Sprint("e", i), Type: model.EventOrderMessage}}, store.Fence{Key: fmt.Sprint("task-", i), Value: "{}"})
}

// BenchmarkUpdateWithHistory commits one message onto an order that already
// has 0 or 999 of them (the 1st and the 1,000th update); the goal is the same
// cost. Run: GATEWAY_INTEGRATION=1 go test -run '^$' -bench UpdateWithHistory ./internal/store
func BenchmarkUpdateWithHistory(b *testing.B) {
	benchBackends(b, func(b *testing.B, rdb redis.UniversalClient) {
		for _, before := range []int{0, 999} {
			b.Run(fmt.Sprintf("update=%d", before+1), func(b *testing.B) {
				ctx := context.Background()
				s := store.New(rdb, nil)
				id := fmt.Sprint("hist", before)
				o, ev := newOrder(id)
				testutil.Must(b, s.CreateOrder(ctx, o, ev))
				for i := 0; i < before; i++ {
					testutil.Must(b, commitMessage(ctx, s, id, i))
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					// Each measured commit starts from the same history length.
					if err := commitMessage(ctx, s, id, before+i); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					rdb.RPop(ctx, "sog:{o:"+id+"}:messages")
					b.StartTimer()
				}
			})
		}
	})
}

// TestMemoryPerOrder measures with MEMORY USAGE on redis-server what an order
// with 1,000 messages, one event and one delivery record cost, and logs it
// (the figures in docs/benchmarks.md).
func TestMemoryPerOrder(t *testing.T) {
	testutil.RequireIntegration(t, "redis-server")
	srv := testutil.StartRedis(t)
	rdb := srv.Client()
	ctx := context.Background()
	s := store.New(rdb, nil)
	o, ev := newOrder("mem")
	testutil.Must(t, s.CreateOrder(ctx, o, ev))
	for i := 0; i < 1000; i++ {
		testutil.Must(t, commitMessage(ctx, s, "mem", i))
	}
	usage := func(key string) int64 {
		n, err := rdb.MemoryUsage(ctx, key, 0).Result()
		testutil.Must(t, err)
		return n
	}
	var total int64
	for _, k := range []string{"order", "events", "messages", "attachments", "fence", "fenceage"} {
		n, _ := rdb.MemoryUsage(ctx, "sog:{o:mem}:"+k, 0).Result()
		t.Logf("%-12s %8d bytes", k, n)
		total += n
	}
	perEvent := usage("sog:events") / max(1, rdb.XLen(ctx, "sog:events").Val())
	t.Logf("order with 1,000 messages (1,001 events, 1,000 fences): %d bytes (%.0f KiB); head alone %d bytes; stream: %d bytes per event",
		total, float64(total)/1024, usage("sog:{o:mem}:order"), perEvent)
	if total == 0 {
		t.Fatal("MEMORY USAGE measured nothing")
	}
}
