package dispatch

import (
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/testutil"
)

// benchRedis is a real redis-server in the integration run, miniredis otherwise.
func benchRedis(b *testing.B) redis.UniversalClient {
	if testutil.Integration() {
		return testutil.StartRedis(b).Client()
	}
	_, c := testutil.MiniRedis(b)
	return c
}

// BenchmarkSend measures Save and Send: checks, the order.submitted event on
// the order, the delivery record and the enqueue.
func BenchmarkSend(b *testing.B) {
	f := newFixture(&testing.T{}, benchRedis(b), nil)
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
func BenchmarkReleaseFromWindow(b *testing.B) {
	f := newFixture(&testing.T{}, benchRedis(b), nil)
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
