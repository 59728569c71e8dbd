package store_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// TestHeadsAreCheckedByWhatRedisHolds runs two replicas (two stores, each
// with its own head cache) on one Redis: a change one makes is what the
// other reads next, a commit from a head read before it is refused as a
// version conflict, and a head handed out is the caller's own copy.
func TestHeadsAreCheckedByWhatRedisHolds(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		a, b := store.New(rdb, nil), store.New(rdb, nil)
		o, ev := newOrder("h1")
		o.Fields = map[string]model.Field{"note": {Value: "first", UpdatedAt: o.CreatedAt}}
		testutil.Must(t, a.CreateOrder(ctx, o, ev))
		onA, err := a.GetOrderHead(ctx, "h1") // a wrote it: a copy of its own
		testutil.Must(t, err)
		onA.Fields["note"] = model.Field{Value: "changed by the caller"}
		onA.ClientStatus = "changed by the caller"
		again, err := a.GetOrderHead(ctx, "h1")
		testutil.Must(t, err)
		if again.Fields["note"].Value != "first" || again.ClientStatus != "" {
			t.Fatalf("head after a caller changed its copy = %+v, want the stored one", again)
		}
		stale := again
		onB, err := b.GetOrderHead(ctx, "h1")
		testutil.Must(t, err)
		onB.ClientStatus = "set on b"
		testutil.Must(t, b.UpdateOrder(ctx, onB, &model.Event{ID: "b1", Type: model.EventOrderUpdated}))
		got, err := a.GetOrderHead(ctx, "h1")
		testutil.Must(t, err)
		if got.Version != 2 || got.ClientStatus != "set on b" {
			t.Fatalf("a's head after b's change = v%d %q, want v2 %q", got.Version, got.ClientStatus, "set on b")
		}
		stale.ClientStatus = "from a stale head"
		if err := a.UpdateOrder(ctx, stale, &model.Event{ID: "a1"}); !errors.Is(err, model.ErrVersionConflict) {
			t.Fatalf("commit from a head read before b's change = %v, want a version conflict", err)
		}
		if got, _ := b.GetOrderHead(ctx, "h1"); got.ClientStatus != "set on b" || got.Version != 2 {
			t.Fatalf("after the refused commit: v%d %q, want v2 %q", got.Version, got.ClientStatus, "set on b")
		}
	})
}

// TestCachedHeadEqualsDecodedHead commits orders with every kind of head
// content (fields of Go types JSON does not have, tasks, assignment,
// acceptance, writers, flags) and checks that the head the committing store
// hands out from its cache equals, deeply, the head a store without a cache
// decodes from Redis.
func TestCachedHeadEqualsDecodedHead(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s, plain := store.New(rdb, nil), store.New(rdb, &store.Options{HeadCache: -1})
		at := time.Date(2026, 12, 2, 10, 0, 0, 123456789, time.UTC)
		o, ev := newOrder("h2")
		o.Company, o.ServiceType, o.PartnerStatus = "globex", "breakfix", "Open"
		o.Fields = map[string]model.Field{
			"count":  {Value: 3, Owner: model.Owner("partner"), LastWriter: "emg", UpdatedAt: at},
			"ratio":  {Value: 0.5, UpdatedAt: at},
			"nested": {Value: map[string]any{"list": []any{"a", 1.0, true, nil}, "n": int64(7)}, UpdatedAt: at},
			"when":   {Value: "2026-12-02", UpdatedAt: at},
		}
		o.Tasks = []model.Task{{ID: "t1", Name: "visit", Fields: map[string]any{"minutes": 30}}, {Name: "bare"}}
		testutil.Must(t, s.CreateOrder(ctx, o, ev))
		same := func(step string) {
			t.Helper()
			cached, err := s.GetOrderHead(ctx, "h2")
			testutil.Must(t, err)
			decoded, err := plain.GetOrderHead(ctx, "h2")
			testutil.Must(t, err)
			if !reflect.DeepEqual(cached, decoded) {
				t.Fatalf("%s: cached head\n%#v\nwant the decoded\n%#v", step, cached, decoded)
			}
		}
		same("after create")
		o.Assignment = &model.Assignment{Group: "field", Assignee: "kim"}
		o.AcceptedAt = &at
		o.Writers = map[string]string{"status": "emg"}
		o.Flags = []model.Flag{model.FlagRush}
		o.Status = model.StatusAccepted
		o.Messages = append(o.Messages, model.Message{ID: "m1", Text: "history stays beside the head"})
		testutil.Must(t, s.UpdateOrder(ctx, o, &model.Event{ID: "e2", Type: model.EventOrderUpdated}))
		same("after an update")
		cur, err := s.GetOrderHead(ctx, "h2")
		testutil.Must(t, err)
		if len(cur.Messages) != 0 || cur.Stored != (model.HistoryCount{}) {
			t.Fatalf("head holds %d messages, Stored %+v; want none (history is beside it)", len(cur.Messages), cur.Stored)
		}
		delete(cur.Fields, "ratio")
		cur.Tasks = nil
		testutil.Must(t, s.UpdateOrder(ctx, cur, &model.Event{ID: "e3", Type: model.EventOrderUpdated}))
		same("after an update from a cached head")
	})
}
