package dispatch

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/testutil"
)

// backends runs fn on miniredis, and in the integration run on a real
// redis-server with AOF fsync always (testutil's default) and everysec.
func backends(b *testing.B, fn func(b *testing.B, rdb redis.UniversalClient)) {
	b.Run("miniredis", func(b *testing.B) {
		_, c := testutil.MiniRedis(b)
		fn(b, c)
	})
	for _, fsync := range []string{"always", "everysec"} {
		b.Run("redis-fsync-"+fsync, func(b *testing.B) {
			if !testutil.Integration() {
				b.Skip("integration run only (GATEWAY_INTEGRATION=1)")
			}
			c := testutil.StartRedis(b).Client()
			if err := c.ConfigSet(context.Background(), "appendfsync", fsync).Err(); err != nil {
				b.Fatal(err)
			}
			fn(b, c)
		})
	}
}

// BenchmarkSend measures Save and Send: checks, the order.submitted event on
// the order, the delivery record and the enqueue.
func BenchmarkSend(b *testing.B) { backends(b, benchSend) }

func benchSend(b *testing.B, rdb redis.UniversalClient) {
	f := newFixture(&testing.T{}, rdb, nil)
	for i := 0; i < b.N; i++ {
		f.order(&testing.T{}, fmt.Sprintf("o%d", i), nil)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := f.svc.Send(f.ctx, fmt.Sprintf("o%d", i), SendOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReleaseFromWindow measures deliveries per second from the end of an
// offline window to a local vendor (signed HTTP): claim, load order, render,
// POST, ack, record.
func BenchmarkReleaseFromWindow(b *testing.B) { backends(b, benchRelease) }

func benchRelease(b *testing.B, rdb redis.UniversalClient) {
	f := newFixture(&testing.T{}, rdb, nil)
	if _, err := f.svc.PutWindow(f.ctx, "acme-movers", time.Time{}, f.clk.Now().Add(time.Hour)); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("o%d", i)
		f.order(&testing.T{}, id, nil)
		if _, err := f.svc.Send(f.ctx, id, SendOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	if err := f.svc.DeleteWindow(f.ctx, "acme-movers"); err != nil {
		b.Fatal(err)
	}
	n, err := f.svc.DeliverDue(f.ctx, "acme-movers", b.N)
	if err != nil || n != b.N {
		b.Fatalf("DeliverDue = %d, %v, want %d", n, err, b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "deliveries/s")
}
