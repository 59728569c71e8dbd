package dispatch

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/testutil"
)

// keyShape turns a key into its pattern: order, delivery and job ids become *.
var keyShape = regexp.MustCompile(`\{o:[^}]*\}|\{v:[^}]*\}|dlv_[0-9a-f]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|:m[0-9]+\b`)

// memoryByShape sums MEMORY USAGE of every key, by key pattern.
func memoryByShape(t *testing.T, rdb redis.UniversalClient) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	out := map[string]int64{}
	iter := rdb.Scan(ctx, 0, "*", 1000).Iterator()
	for iter.Next(ctx) {
		n, err := rdb.MemoryUsage(ctx, iter.Val(), 0).Result()
		testutil.Must(t, err)
		out[keyShape.ReplaceAllStringFunc(iter.Val(), func(s string) string {
			switch {
			case strings.HasPrefix(s, "{o:"):
				return "{o:*}"
			case strings.HasPrefix(s, "{v:"):
				return s // one vendor: keep its name
			case strings.HasPrefix(s, ":m"):
				return ":*"
			}
			return "*"
		})] += n
	}
	testutil.Must(t, iter.Err())
	return out
}

// TestMemoryPerDelivery measures what a delivery costs in Redis (MEMORY
// USAGE, real redis-server): 1,000 orders are sent to acme-movers once each,
// then delivered. It logs, per key pattern, the bytes each delivery added
// while queued and once finished (Success), and the totals; docs/benchmarks.md
// quotes them.
//
//	GATEWAY_INTEGRATION=1 go test -run TestMemoryPerDelivery -v ./internal/dispatch
func TestMemoryPerDelivery(t *testing.T) {
	testutil.RequireIntegration(t, "redis-server")
	rdb := testutil.StartRedisFsync(t, "everysec").Client()
	f := newFixture(t, rdb, nil)
	const n = 1000
	for i := 0; i < n; i++ {
		f.order(t, fmt.Sprintf("m%d", i), nil)
	}
	orders := memoryByShape(t, rdb)
	for i := 0; i < n; i++ {
		if _, err := f.svc.Send(f.ctx, fmt.Sprintf("m%d", i), SendOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	queued := memoryByShape(t, rdb)
	if got, err := f.svc.DeliverDue(f.ctx, "acme-movers", n); err != nil || got != n {
		t.Fatalf("DeliverDue = %d, %v, want %d", got, err, n)
	}
	finished := memoryByShape(t, rdb)

	report := func(name string, after map[string]int64) int64 {
		var shapes []string
		for k := range after {
			if after[k] != orders[k] {
				shapes = append(shapes, k)
			}
		}
		for k := range orders {
			if _, ok := after[k]; !ok {
				shapes = append(shapes, k)
			}
		}
		sort.Strings(shapes)
		var total int64
		for _, k := range shapes {
			d := after[k] - orders[k]
			total += d
			t.Logf("%-9s %-40s %+8.1f bytes per delivery", name, k, float64(d)/n)
		}
		t.Logf("%-9s total %+.1f bytes per delivery (%d deliveries)", name, float64(total)/n, n)
		return total
	}
	if report("queued", queued) <= 0 || report("finished", finished) <= 0 {
		t.Fatal("MEMORY USAGE measured nothing for the deliveries")
	}
}
