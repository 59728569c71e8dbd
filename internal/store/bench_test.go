package store_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// Run with a real server: GATEWAY_INTEGRATION=1 go test -run '^$' -bench Store ./internal/store
func benchBackends(b *testing.B, f func(b *testing.B, rdb redis.UniversalClient)) {
	b.Run("redis-server", func(b *testing.B) {
		srv := testutil.StartRedisFsync(b, "everysec")
		f(b, srv.Client())
	})
}

func BenchmarkStoreCreate(b *testing.B) {
	benchBackends(b, func(b *testing.B, rdb redis.UniversalClient) {
		s := store.New(rdb, nil)
		ctx := context.Background()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			o, ev := newOrder(fmt.Sprint("b", i))
			if err := s.CreateOrder(ctx, o, ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkStoreGet(b *testing.B) {
	benchBackends(b, func(b *testing.B, rdb redis.UniversalClient) {
		s := store.New(rdb, nil)
		ctx := context.Background()
		o, ev := newOrder("g")
		testutil.Must(b, s.CreateOrder(ctx, o, ev))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.GetOrder(ctx, "g"); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkStoreUpdate(b *testing.B) {
	benchBackends(b, func(b *testing.B, rdb redis.UniversalClient) {
		s := store.New(rdb, nil)
		ctx := context.Background()
		o, ev := newOrder("u")
		testutil.Must(b, s.CreateOrder(ctx, o, ev))
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			o.ClientStatus = fmt.Sprint(i)
			if err := s.UpdateOrder(ctx, o, &model.Event{ID: fmt.Sprint("e", i), Type: model.EventOrderUpdated}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkStoreHeadRead reads an order's head as a commit does (GetOrderHead)
// after this store wrote it, with the head cache and without: the cache
// spares decoding the document; the round trip is the same.
func BenchmarkStoreHeadRead(b *testing.B) {
	for _, c := range []struct {
		name  string
		cache int
	}{{"cached", 0}, {"decoded", -1}} {
		b.Run(c.name, func(b *testing.B) {
			benchBackends(b, func(b *testing.B, rdb redis.UniversalClient) {
				s := store.New(rdb, &store.Options{HeadCache: c.cache})
				ctx := context.Background()
				o, ev := newOrder("h")
				o.Company, o.ServiceType = "globex", "breakfix"
				o.Fields = map[string]model.Field{}
				for i := range 12 {
					o.Fields[fmt.Sprint("field_", i)] = model.Field{Value: fmt.Sprint("value of field ", i), Owner: "partner", LastWriter: "emg", UpdatedAt: o.CreatedAt}
				}
				o.Tasks = []model.Task{{ID: "t1", Name: "BreakFix", Status: "Open", Fields: map[string]any{"ibx": "AT3", "priority": 2.0}}}
				testutil.Must(b, s.CreateOrder(ctx, o, ev))
				b.ReportAllocs()
				for b.Loop() {
					if _, err := s.GetOrderHead(ctx, "h"); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
