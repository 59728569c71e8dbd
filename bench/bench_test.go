package bench

import (
	"context"
	"testing"

	"github.com/equus/sogateway/internal/testutil"
)

// BenchmarkWindowRelease releases 10,000 held deliveries into a local sink,
// first from the gateway's queue, then from asynq's scheduled tasks, on one
// redis-server that it starts (AOF on, appendfsync always). It reports
// deliveries per second after the window's end and the latency to the first
// delivery. Run: GATEWAY_INTEGRATION=1 go test -bench . -benchtime 1x ./bench/
func BenchmarkWindowRelease(b *testing.B) {
	srv := testutil.StartRedis(b)
	rdb := srv.Client()
	for i := 0; i < b.N; i++ {
		ours, theirs, err := Compare(context.Background(), rdb, srv.Addr(), Config{})
		if err != nil {
			b.Fatal(err)
		}
		if ours.Duplicates != 0 {
			b.Fatalf("gateway queue delivered %d duplicates, want 0", ours.Duplicates)
		}
		b.ReportMetric(ours.Rate(), "sog-jobs/s")
		b.ReportMetric(theirs.Rate(), "asynq-jobs/s")
		b.ReportMetric(ours.Rate()/theirs.Rate(), "ratio")
		b.ReportMetric(float64(ours.First.Milliseconds()), "sog-first-ms")
		b.ReportMetric(float64(theirs.First.Milliseconds()), "asynq-first-ms")
		b.Logf("%s", ours)
		b.Logf("%s", theirs)
	}
}
