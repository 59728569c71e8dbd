package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/catalog"
	"github.com/equus/sogateway/internal/testutil"
)

func TestVersionsSeedAndWatch(t *testing.T) {
	testutil.EachRedis(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		s := catalog.New(rdb, nil)
		seeded, err := s.Seed(ctx, map[string]json.RawMessage{"acme": json.RawMessage(`{"transport":"http"}`)}, nil)
		testutil.Must(t, err)
		again, err := s.Seed(ctx, map[string]json.RawMessage{"other": json.RawMessage(`{}`)}, nil)
		testutil.Must(t, err)
		if !seeded || again {
			t.Fatalf("Seed twice = %v, %v, want true then false", seeded, again)
		}
		if _, err := s.Get(ctx, catalog.KindVendor, "other"); !errors.Is(err, catalog.ErrNotFound) {
			t.Fatalf("a second seed wrote a vendor: %v", err)
		}
		revs := make(chan int64, 10)
		go s.Watch(ctx, time.Hour, func(_ context.Context, rev int64) { revs <- rev })
		if r := <-revs; r != 1 {
			t.Fatalf("first revision seen = %d, want 1", r)
		}
		if _, err := s.Put(ctx, catalog.KindVendor, "acme", json.RawMessage(`{"transport":"soap"}`), 0); !errors.Is(err, catalog.ErrExists) {
			t.Fatalf("create over an existing vendor = %v, want ErrExists", err)
		}
		var ve *catalog.VersionError
		if _, err := s.Put(ctx, catalog.KindVendor, "acme", json.RawMessage(`{"transport":"soap"}`), 7); !errors.As(err, &ve) || ve.Current != 1 {
			t.Fatalf("put at a stale version = %v, want VersionError at 1", err)
		}
		e, err := s.Put(ctx, catalog.KindVendor, "acme", json.RawMessage(`{"transport":"soap"}`), 1)
		if err != nil || e.Version != 2 {
			t.Fatalf("put at the version read = %+v, %v, want version 2", e, err)
		}
		// The announcement wakes the watcher long before its hour-long poll.
		select {
		case r := <-revs:
			if r != 2 {
				t.Fatalf("revision after the change = %d, want 2", r)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the watcher did not see the change")
		}
		testutil.Must(t, s.Delete(ctx, catalog.KindVendor, "acme", 2))
		if err := s.Delete(ctx, catalog.KindVendor, "acme", catalog.Any); !errors.Is(err, catalog.ErrNotFound) {
			t.Fatalf("delete of a deleted vendor = %v, want ErrNotFound", err)
		}
	})
}
