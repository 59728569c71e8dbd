package orderindex_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/orderindex"
	"github.com/equus/sogateway/internal/testutil"
)

// BenchmarkPageByPartnerAndStatus indexes 100,000 orders (5 partners, 10
// statuses, 50 companies) on a real redis-server and pages through one
// partner and status, 50 a page. It reports the time per page and, per
// order, the Redis memory each index costs (MEMORY USAGE of its keys).
// GATEWAY_INTEGRATION=1 go test -run '^$' -bench PageByPartner ./internal/orderindex
func BenchmarkPageByPartnerAndStatus(b *testing.B) {
	testutil.RequireIntegration(b, "redis-server")
	rdb := testutil.StartRedis(b).Client()
	ctx := context.Background()
	ix := orderindex.New(rdb, nil)
	const n = 100_000
	partners := []string{"pruvan", "extend", "emg", "ssp7", "equus"}
	statuses := []model.Status{model.StatusNew, model.StatusSent, model.StatusAcknowledged, model.StatusAccepted, model.StatusInProgress,
		model.StatusPendingInput, model.StatusResolved, model.StatusClosed, model.StatusCancelled, model.StatusRejected}
	for i := 0; i < n; i += 1000 {
		p := rdb.Pipeline()
		for j := i; j < i+1000; j++ {
			o := &model.Order{ID: fmt.Sprintf("01a2%028d", j), Partner: partners[j%5], Company: fmt.Sprintf("company-%d", j%50),
				ServiceType: "household_goods_move", Status: statuses[(j/5)%10], Version: 1,
				Refs:      model.Refs{Requestor: fmt.Sprintf("REQ-%d", j), Servicer: fmt.Sprintf("SRV-%d", j)},
				UpdatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(j) * time.Second)}
			if err := orderindex.ApplyIn(ctx, ix, p, o); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := p.Exec(ctx); err != nil {
			b.Fatal(err)
		}
	}
	f := orderindex.Filter{Partner: "emg", Status: string(model.StatusAccepted)}
	pages, orders := 0, 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cursor := ""
		for {
			page, err := ix.Query(ctx, f, cursor, 50)
			if err != nil {
				b.Fatal(err)
			}
			pages++
			orders += len(page.IDs)
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
	}
	b.StopTimer()
	if orders != b.N*n/50 {
		b.Fatalf("paged %d orders in %d runs, want %d per run", orders, b.N, n/50)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(pages), "ns/page")
	b.ReportMetric(float64(pages)/float64(b.N), "pages/op")
	mem := map[string]int64{}
	var ks []string
	iter := rdb.Scan(ctx, 0, "sog:{ix}:*", 10000).Iterator()
	for iter.Next(ctx) {
		ks = append(ks, iter.Val())
	}
	for i := 0; i < len(ks); i += 1000 {
		p := rdb.Pipeline()
		cmds := map[string]*redis.IntCmd{}
		for _, k := range ks[i:min(i+1000, len(ks))] {
			cmds[k] = p.MemoryUsage(ctx, k, 0)
		}
		if _, err := p.Exec(ctx); err != nil {
			b.Fatal(err)
		}
		for k, c := range cmds {
			mem[strings.SplitN(strings.TrimPrefix(k, "sog:{ix}:"), ":", 2)[0]] += c.Val()
		}
	}
	for _, kind := range []string{"partner", "status", "company", "service_type", "ref", "all", "o"} {
		b.ReportMetric(float64(mem[kind])/n, "B/order-"+kind)
	}
}
