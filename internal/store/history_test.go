package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// TestHistoryLivesBesideTheOrder checks that messages and attachments are
// appended to their own lists, that the order's document keeps only its
// current state (so it does not grow with the history), and that a full read
// and the paged listings return everything in order.
func TestHistoryLivesBesideTheOrder(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := store.New(rdb, nil)
		o, ev := newOrder("h1")
		o.Messages = []model.Message{{ID: "m0", Direction: model.DirectionIn, Text: "first"}}
		testutil.Must(t, s.CreateOrder(ctx, o, ev))
		docLen := func() int {
			doc, err := rdb.HGet(ctx, "sog:{o:h1}:order", "doc").Result()
			testutil.Must(t, err)
			return len(doc)
		}
		before := docLen()
		for i := 1; i <= 30; i++ {
			cur, err := s.GetOrderHead(ctx, "h1")
			testutil.Must(t, err)
			if len(cur.Messages) != 0 {
				t.Fatalf("GetOrderHead returned %d messages, want none (history is not read on commit)", len(cur.Messages))
			}
			_, err = cur.Apply(&model.Patch{Messages: []model.Message{{ID: fmt.Sprint("m", i), Direction: model.DirectionIn, Text: fmt.Sprint("note ", i)}},
				Attachments: []model.Attachment{{Name: fmt.Sprint("a", i, ".pdf")}}}, model.ApplyOptions{})
			testutil.Must(t, err)
			testutil.Must(t, s.UpdateOrder(ctx, cur, &model.Event{ID: fmt.Sprint("e", i), Type: model.EventOrderMessage}))
		}
		if after := docLen(); after > before+16 { // the version digits and updated_at may move a little
			t.Fatalf("order document grew from %d to %d bytes over 30 messages, want it independent of history", before, after)
		}
		full, err := s.GetOrder(ctx, "h1")
		testutil.Must(t, err)
		if len(full.Messages) != 31 || full.Messages[0].ID != "m0" || full.Messages[30].ID != "m30" || len(full.Attachments) != 30 {
			t.Fatalf("GetOrder = %d messages (%v..), %d attachments, want 31 (m0..m30) and 30", len(full.Messages), full.Messages[0].ID, len(full.Attachments))
		}
		// A full read, changed and written back, appends only what is new.
		_, err = full.Apply(&model.Patch{Messages: []model.Message{{ID: "m31", Direction: model.DirectionOut, Text: "last"}}}, model.ApplyOptions{})
		testutil.Must(t, err)
		testutil.Must(t, s.UpdateOrder(ctx, full))
		again, _ := s.GetOrder(ctx, "h1")
		if len(again.Messages) != 32 || again.Messages[31].ID != "m31" {
			t.Fatalf("after writing back a full read: %d messages, want 32 ending in m31", len(again.Messages))
		}

		var ids []string
		cursor := ""
		for pages := 0; ; pages++ {
			msgs, next, err := s.MessagesPage(ctx, "h1", cursor, 10)
			testutil.Must(t, err)
			for _, m := range msgs {
				ids = append(ids, m.ID)
			}
			if next == "" {
				if pages != 3 {
					t.Fatalf("32 messages by 10 took %d pages, want 4", pages+1)
				}
				break
			}
			cursor = next
		}
		if len(ids) != 32 || ids[0] != "m0" || ids[31] != "m31" {
			t.Fatalf("paged messages = %v, want m0..m31", ids)
		}
		evs, next, err := s.EventsPage(ctx, "h1", "30", 10)
		testutil.Must(t, err)
		if len(evs) != 1 || evs[0].ID != "e30" || next != "" {
			t.Fatalf("EventsPage(cursor 30) = %d events, next %q, want [e30] and no next page", len(evs), next)
		}
		for _, bad := range []struct {
			cursor string
			limit  int
		}{{"x", 10}, {"-1", 10}, {"", 0}, {"", store.MaxPage + 1}} {
			if _, _, err := s.EventsPage(ctx, "h1", bad.cursor, bad.limit); !errors.Is(err, model.ErrInvalid) {
				t.Errorf("EventsPage(%q, %d) = %v, want ErrInvalid", bad.cursor, bad.limit, err)
			}
		}
		if _, _, err := s.MessagesPage(ctx, "nope", "", 10); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("MessagesPage(unknown) = %v, want ErrNotFound", err)
		}
	})
}

// writeLegacy writes an order the way gateways before the history split did:
// messages and attachments inside the document.
func writeLegacy(t *testing.T, rdb redis.UniversalClient, o *model.Order) {
	t.Helper()
	doc, err := json.Marshal(o)
	testutil.Must(t, err)
	testutil.Must(t, rdb.HSet(context.Background(), "sog:{o:"+o.ID+"}:order", "v", o.Version, "doc", doc, "pub", 1).Err())
}

func TestLegacyOrderMigratesOnReadAndByCommand(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := store.New(rdb, nil)
		for _, id := range []string{"old1", "old2"} {
			o, _ := newOrder(id)
			o.Version = 3
			o.Messages = []model.Message{{ID: "a", Direction: model.DirectionIn, Text: "one"}, {ID: "b", Direction: model.DirectionOut, Text: "two"}}
			o.Attachments = []model.Attachment{{Name: "x.pdf"}}
			writeLegacy(t, rdb, o)
		}
		// On read: a commit reading the head migrates first, so nothing is lost.
		head, err := s.GetOrderHead(ctx, "old1")
		testutil.Must(t, err)
		if head.Version != 3 || len(head.Messages) != 0 {
			t.Fatalf("GetOrderHead(legacy) = v%d with %d messages, want v3 and none", head.Version, len(head.Messages))
		}
		_, _ = head.Apply(&model.Patch{Messages: []model.Message{{ID: "c", Direction: model.DirectionIn, Text: "three"}}}, model.ApplyOptions{})
		testutil.Must(t, s.UpdateOrder(ctx, head))
		full, err := s.GetOrder(ctx, "old1")
		testutil.Must(t, err)
		if len(full.Messages) != 3 || full.Messages[0].ID != "a" || full.Messages[2].ID != "c" || len(full.Attachments) != 1 || full.Version != 4 {
			t.Fatalf("legacy order after a commit = v%d %+v, want v4 with messages a, b, c and 1 attachment", full.Version, full.Messages)
		}
		// By command: MigrateOrder moves it once and then has nothing to do.
		moved, err := s.MigrateOrder(ctx, "old2")
		testutil.Must(t, err)
		again, err := s.MigrateOrder(ctx, "old2")
		testutil.Must(t, err)
		if !moved || again {
			t.Fatalf("MigrateOrder = %v then %v, want true then false", moved, again)
		}
		doc, _ := rdb.HGet(ctx, "sog:{o:old2}:order", "doc").Result()
		var raw map[string]any
		testutil.Must(t, json.Unmarshal([]byte(doc), &raw))
		if _, ok := raw["messages"]; ok {
			t.Fatalf("migrated document still holds messages: %s", doc)
		}
		o2, err := s.GetOrder(ctx, "old2")
		testutil.Must(t, err)
		if len(o2.Messages) != 2 || o2.Version != 3 {
			t.Fatalf("migrated order = v%d with %d messages, want v3 with 2 (migration changes no version)", o2.Version, len(o2.Messages))
		}
	})
}

// TestFencesExpireAfterRetention checks that an order's fence and its age set
// expire between one retention and one retention plus a step (1/24 of it)
// after the last write, and that fence entries older than the retention are
// dropped by the first write once the order's fences are due to be looked
// after (not by every write), 64 at a time until none is left.
func TestFencesExpireAfterRetention(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := store.New(rdb, &store.Options{FenceTTL: time.Hour})
		o, ev := newOrder("f1")
		testutil.Must(t, s.CreateOrderFenced(ctx, o, ev, "msg-0", "v"))
		testutil.Must(t, s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "e1"}}, store.Fence{Key: "msg-1", Value: "v"}))
		step := time.Hour / 24
		for _, k := range []string{"sog:{o:f1}:fence", "sog:{o:f1}:fenceage"} {
			ttl, err := rdb.PTTL(ctx, k).Result()
			testutil.Must(t, err)
			if ttl <= time.Hour || ttl > time.Hour+step {
				t.Errorf("PTTL(%s) = %v, want between 1h and 1h%v (the fence retention and a step)", k, ttl, step)
			}
		}
		fenceKeys := func() int { return len(rdb.HKeys(ctx, "sog:{o:f1}:fence").Val()) }
		// An entry recorded longer ago than the retention stays until the
		// fences are due to be looked after ...
		testutil.Must(t, rdb.ZAdd(ctx, "sog:{o:f1}:fenceage", redis.Z{Score: 1, Member: "msg-0"}).Err())
		testutil.Must(t, s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "e2"}}, store.Fence{Key: "msg-2", Value: "v"}))
		if n := fenceKeys(); n != 3 {
			t.Fatalf("fence keys before the fences are due = %d, want 3 (msg-0 waits for the next pass)", n)
		}
		// ... and goes with the first write after that.
		testutil.Must(t, rdb.HSet(ctx, "sog:{o:f1}:order", "fdue", 1).Err())
		testutil.Must(t, s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "e3"}}, store.Fence{Key: "msg-3", Value: "v"}))
		keys, err := rdb.HKeys(ctx, "sog:{o:f1}:fence").Result()
		testutil.Must(t, err)
		if fmt.Sprint(keys) != "[msg-1 msg-2 msg-3]" {
			t.Fatalf("fence keys after the pass = %v, want msg-1 msg-2 msg-3 (msg-0 is older than the retention)", keys)
		}
		// More than a pass drops: the next write passes again, whenever it comes.
		for i := 0; i < 70; i++ {
			k := fmt.Sprintf("old-%d", i)
			testutil.Must(t, rdb.HSet(ctx, "sog:{o:f1}:fence", k, "1|v").Err())
			testutil.Must(t, rdb.ZAdd(ctx, "sog:{o:f1}:fenceage", redis.Z{Score: float64(i + 1), Member: k}).Err())
		}
		testutil.Must(t, rdb.HSet(ctx, "sog:{o:f1}:order", "fdue", 1).Err())
		testutil.Must(t, s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "e4"}}, store.Fence{Key: "msg-4", Value: "v"}))
		if n := fenceKeys(); n != 4+6 {
			t.Fatalf("fence keys after one pass over 70 old ones = %d, want 10 (64 dropped)", n)
		}
		testutil.Must(t, s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "e5"}}, store.Fence{Key: "msg-5", Value: "v"}))
		if n := fenceKeys(); n != 5 {
			t.Fatalf("fence keys after the next write = %d, want 5 (the last 6 old ones dropped)", n)
		}
		// Quiet again: the next write leaves the fences alone.
		testutil.Must(t, rdb.ZAdd(ctx, "sog:{o:f1}:fenceage", redis.Z{Score: 1, Member: "msg-1"}).Err())
		testutil.Must(t, s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "e6"}}, store.Fence{Key: "msg-6", Value: "v"}))
		if n := fenceKeys(); n != 6 {
			t.Fatalf("fence keys after a write that is not due = %d, want 6", n)
		}
	})
}
