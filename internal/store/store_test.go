package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/orderindex"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// backends runs the same suite on miniredis and on a real redis-server, as
// go-imap runs its suite on its memory server and on Dovecot.
var backends = testutil.EachRedis

func newOrder(id string) (*model.Order, *model.Event) {
	now := time.Now().UTC()
	return &model.Order{ID: id, Partner: "pruvan", Status: model.StatusNew, Refs: model.Refs{Requestor: "WO-" + id}, CreatedAt: now, UpdatedAt: now},
		&model.Event{ID: "ev-" + id, Type: model.EventOrderCreated, Direction: model.DirectionIn, Protocol: model.ProtocolREST, At: now}
}

func TestCreateGetUpdate(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := store.New(rdb, nil)
		o, ev := newOrder("o1")
		testutil.Must(t, s.CreateOrder(ctx, o, ev))
		if err := s.CreateOrder(ctx, o, ev); !errors.Is(err, store.ErrExists) {
			t.Fatalf("CreateOrder(existing) = %v, want ErrExists", err)
		}
		got, err := s.GetOrder(ctx, "o1")
		testutil.Must(t, err)
		if got.Version != 1 || got.Refs.Requestor != "WO-o1" {
			t.Fatalf("GetOrder = version %d refs %+v, want 1 and WO-o1", got.Version, got.Refs)
		}
		got.ClientStatus = "Order Late"
		testutil.Must(t, s.UpdateOrder(ctx, got, &model.Event{ID: "ev2", Type: model.EventOrderUpdated, Direction: model.DirectionIn, Protocol: model.ProtocolREST}))
		if got.Version != 2 {
			t.Fatalf("version after update = %d, want 2", got.Version)
		}
		stale, _ := s.GetOrder(ctx, "o1")
		stale.Version = 1
		var vc *model.VersionConflictError
		if err := s.UpdateOrder(ctx, stale); !errors.As(err, &vc) || !errors.Is(err, model.ErrVersionConflict) || vc.Current != 2 || vc.Read != 1 {
			t.Fatalf("UpdateOrder(stale) = %v, want a VersionConflictError at 2, read 1", err)
		}
		if got := model.Describe(vc); got != "order o1 is at version 2, not 1" {
			t.Fatalf("Describe(version conflict) = %q", got)
		}
		gone, _ := newOrder("gone")
		gone.Version = 1
		var nf *model.NotFoundError
		if err := s.UpdateOrder(ctx, gone); !errors.As(err, &nf) || nf.What != "order" || nf.ID != "gone" {
			t.Fatalf("UpdateOrder(unknown) = %v, want a NotFoundError for order gone", err)
		}
		evs, err := s.Events(ctx, "o1")
		testutil.Must(t, err)
		if len(evs) != 2 || evs[0].ID != "ev-o1" || evs[1].ID != "ev2" || evs[1].OrderVersion != 2 {
			t.Fatalf("Events = %+v, want ev-o1 then ev2 at version 2", evs)
		}
		if _, err := s.GetOrder(ctx, "nope"); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("GetOrder(unknown) = %v, want ErrNotFound", err)
		}
		if _, err := s.Events(ctx, "nope"); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("Events(unknown) = %v, want ErrNotFound", err)
		}
	})
}

func TestFenceRefusesSecondApplication(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := store.New(rdb, nil)
		o, ev := newOrder("o2")
		testutil.Must(t, s.CreateOrder(ctx, o, ev))
		o.ClientStatus = "a"
		testutil.Must(t, s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "e", Type: model.EventOrderUpdated}}, store.Fence{Key: "msg-1", Value: "first"}))
		o.ClientStatus = "b"
		err := s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "e2", Type: model.EventOrderUpdated}}, store.Fence{Key: "msg-1", Value: "second"})
		var dup *store.DuplicateError
		if !errors.As(err, &dup) || dup.Value != "first" {
			t.Fatalf("second application = %v, want DuplicateError with the first value", err)
		}
		got, _ := s.GetOrder(ctx, "o2")
		if got.ClientStatus != "a" || got.Version != 2 {
			t.Fatalf("order after duplicate = %q v%d, want a v2 (nothing applied twice)", got.ClientStatus, got.Version)
		}
	})
}

// TestFenceAnswerRidesWithTheCommit: Fence.Answer stores the message's
// answer with the commit (first one kept for a message id, replaced for a
// digest), and a refused update stores none.
func TestFenceAnswerRidesWithTheCommit(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := store.New(rdb, nil)
		o, ev := newOrder("o7")
		testutil.Must(t, s.CreateOrder(ctx, o, ev))
		testutil.Must(t, s.SetAnswer(ctx, "emg:kept", []byte("earlier")))
		testutil.Must(t, s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "a", Type: model.EventOrderUpdated}}, store.Fence{Key: "emg:kept", Value: "later", Answer: true}))
		testutil.Must(t, s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "b", Type: model.EventOrderUpdated}}, store.Fence{Key: "emg:msg", Value: "first", Answer: true}))
		testutil.Must(t, s.UpdateOrderFenced(ctx, o, nil, store.Fence{Key: "sha256:d", Value: "digest", UntilChanged: true, Answer: true}))
		stale := *o
		stale.Version = 1
		if err := s.UpdateOrderFenced(ctx, &stale, []*model.Event{{ID: "c"}}, store.Fence{Key: "emg:stale", Value: "x", Answer: true}); !errors.Is(err, model.ErrVersionConflict) {
			t.Fatalf("stale update = %v, want a version conflict", err)
		}
		for key, want := range map[string]string{"emg:kept": "earlier", "emg:msg": "first", "sha256:d": "digest", "emg:stale": ""} {
			got, err := s.Answer(ctx, key)
			testutil.Must(t, err)
			if string(got) != want {
				t.Errorf("Answer(%s) = %q, want %q", key, got, want)
			}
		}
	})
}

func TestDigestFenceAppliesAgainAfterAChange(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := store.New(rdb, nil)
		o, ev := newOrder("o5")
		testutil.Must(t, s.CreateOrder(ctx, o, ev))
		late := store.Fence{Key: "sha256:late", Value: "late", UntilChanged: true}
		o.ClientStatus = "Order Late"
		testutil.Must(t, s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "a"}}, late))
		var dup *store.DuplicateError
		if err := s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "a2"}}, late); !errors.As(err, &dup) {
			t.Fatalf("same digest at the version it produced = %v, want a duplicate", err)
		}
		o.ClientStatus = "Order On Time"
		testutil.Must(t, s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "b"}}, store.Fence{Key: "sha256:ontime", Value: "ontime", UntilChanged: true}))
		o.ClientStatus = "Order Late"
		if err := s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "c"}}, late); err != nil {
			t.Fatalf("same digest after another change = %v, want it applied again", err)
		}
		got, _ := s.GetOrder(ctx, "o5")
		if got.ClientStatus != "Order Late" || got.Version != 4 {
			t.Fatalf("order = %q v%d, want Order Late v4", got.ClientStatus, got.Version)
		}
	})
}

func TestRefsAndAnswers(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := store.New(rdb, nil)
		won, err := s.ClaimRef(ctx, "emg", "servicer", "1-99", "A")
		testutil.Must(t, err)
		again, err := s.ClaimRef(ctx, "emg", "servicer", "1-99", "B")
		testutil.Must(t, err)
		if won != "A" || again != "A" {
			t.Fatalf("ClaimRef = %q then %q, want A twice (first claim wins)", won, again)
		}
		id, err := s.FindByRef(ctx, "emg", "servicer", "1-99")
		if err != nil || id != "A" {
			t.Fatalf("FindByRef = %q, %v, want A", id, err)
		}
		if _, err := s.FindByRef(ctx, "pruvan", "servicer", "1-99"); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("FindByRef(other partner) = %v, want ErrNotFound (refs are per partner)", err)
		}
		first, stored, err := s.RememberAnswer(ctx, "k", []byte("one"))
		testutil.Must(t, err)
		second, stored2, err := s.RememberAnswer(ctx, "k", []byte("two"))
		testutil.Must(t, err)
		if !stored || stored2 || string(first) != "one" || string(second) != "one" {
			t.Fatalf("RememberAnswer = %q/%v then %q/%v, want the first answer both times", first, stored, second, stored2)
		}
	})
}

func TestConcurrentUpdatesOneWins(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := store.New(rdb, nil)
		o, ev := newOrder("o3")
		testutil.Must(t, s.CreateOrder(ctx, o, ev))
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				mine, _ := s.GetOrder(ctx, "o3")
				mine.Version = 1
				mine.ClientStatus = fmt.Sprint("writer ", i)
				errs[i] = s.UpdateOrder(ctx, mine)
			}(i)
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, model.ErrVersionConflict):
				t.Fatalf("concurrent update error = %v, want nil or ErrVersionConflict", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d of %d concurrent writers of version 1 won, want exactly 1", wins, n)
		}
	})
}

func TestStreamConsumerGroupSeesEveryEventOnce(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := store.New(rdb, nil)
		testutil.Must(t, rdb.XGroupCreateMkStream(ctx, s.StreamKey(), "platform", "0").Err())
		want := map[string]bool{}
		for i := 0; i < 5; i++ {
			o, ev := newOrder(fmt.Sprint("s", i))
			testutil.Must(t, s.CreateOrder(ctx, o, ev))
			want[ev.ID] = true
			up := &model.Event{ID: fmt.Sprint("up", i), Type: model.EventOrderUpdated}
			testutil.Must(t, s.UpdateOrder(ctx, o, up))
			want[up.ID] = true
		}
		_, _ = s.PublishPending(ctx) // nothing pending: must not publish again
		seen := map[string]int{}
		for {
			res, err := rdb.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "platform", Consumer: "c1",
				Streams: []string{s.StreamKey(), ">"}, Count: 100, Block: -1}).Result()
			if errors.Is(err, redis.Nil) || (err == nil && len(res[0].Messages) == 0) {
				break
			}
			testutil.Must(t, err)
			for _, m := range res[0].Messages {
				seen[m.Values["event_id"].(string)]++
				rdb.XAck(ctx, s.StreamKey(), "platform", m.ID)
			}
		}
		for id := range want {
			if seen[id] != 1 {
				t.Errorf("event %s seen %d times by the consumer group, want 1", id, seen[id])
			}
		}
		if len(seen) != len(want) {
			t.Errorf("consumer group saw %d events, want %d", len(seen), len(want))
		}
	})
}

func TestOrdersSurviveRedisRestartWithAOF(t *testing.T) {
	srv := testutil.StartRedis(t)
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	defer rdb.Close()
	s := store.New(rdb, nil)
	o, ev := newOrder("aof")
	testutil.Must(t, s.CreateOrder(ctx, o, ev))
	o.ClientStatus = "kept"
	testutil.Must(t, s.UpdateOrder(ctx, o, &model.Event{ID: "aof-2", Type: model.EventOrderUpdated}))
	srv.Restart() // SIGKILL: only what AOF persisted survives
	got, err := s.GetOrder(ctx, "aof")
	testutil.Must(t, err)
	evs, err := s.Events(ctx, "aof")
	testutil.Must(t, err)
	if got.ClientStatus != "kept" || got.Version != 2 || len(evs) != 2 {
		t.Fatalf("after kill -9 and restart: status %q v%d with %d events, want kept v2 with 2", got.ClientStatus, got.Version, len(evs))
	}
	n, err := rdb.XLen(ctx, s.StreamKey()).Result()
	testutil.Must(t, err)
	if n != 2 {
		t.Fatalf("stream length after restart = %d, want 2", n)
	}
}

func TestNonceIsFreshOnce(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		a, b := store.New(rdb, nil), store.New(rdb, nil) // two replicas
		fresh, err := a.RememberNonce(ctx, "user:n1", time.Minute)
		testutil.Must(t, err)
		again, err := b.RememberNonce(ctx, "user:n1", time.Minute)
		testutil.Must(t, err)
		if !fresh || again {
			t.Fatalf("RememberNonce = %v then %v on another replica, want true then false", fresh, again)
		}
	})
}

// TestAnswerAndRef reads a stored answer and a bound ref together, and
// reports neither when nothing is stored.
func TestAnswerAndRef(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := store.New(rdb, nil)
		a, id, err := s.AnswerAndRef(ctx, "emg:m1", "emg", "requestor", "R-1")
		if err != nil || a != nil || id != "" {
			t.Fatalf("AnswerAndRef(nothing stored) = %q, %q, %v, want nothing", a, id, err)
		}
		testutil.Must(t, s.SetAnswer(ctx, "emg:m1", []byte("first")))
		_, err = s.ClaimRef(ctx, "emg", "requestor", "R-1", "o-1")
		testutil.Must(t, err)
		if a, id, err = s.AnswerAndRef(ctx, "emg:m1", "emg", "requestor", "R-1"); err != nil || string(a) != "first" || id != "o-1" {
			t.Fatalf("AnswerAndRef = %q, %q, %v, want first, o-1", a, id, err)
		}
		if _, id, _ = s.AnswerAndRef(ctx, "emg:m1", "emg", "servicer", "R-1"); id != "" {
			t.Fatalf("AnswerAndRef(servicer R-1) id = %q, want none (only the requestor ref is bound)", id)
		}
	})
}

// TestCommitsSurviveAnEmptiedScriptCache commits orders after SCRIPT FLUSH
// emptied Redis's script cache (as a restart or a failover does): the
// commit, the publish mark and the index apply go by EVALSHA in pipelines,
// answer NOSCRIPT, and are run again with their text. Every event reaches
// the stream exactly once, the outbox and the index's dirty marks are
// empty, the index holds the last version, and the answer is stored; a
// repeat after another flush is still refused by the fence.
func TestCommitsSurviveAnEmptiedScriptCache(t *testing.T) {
	backends(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		s := store.New(rdb, nil)
		ix := orderindex.New(rdb, nil)
		s.SetIndexer(ix)
		o, ev := newOrder("flushed")
		testutil.Must(t, rdb.ScriptFlush(ctx).Err())
		testutil.Must(t, s.CreateOrder(ctx, o, ev))
		for i := 2; i <= 4; i++ {
			testutil.Must(t, rdb.ScriptFlush(ctx).Err())
			o.Status = []model.Status{model.StatusAccepted, model.StatusInProgress, model.StatusResolved}[i-2]
			for range i - 1 { // 1, 2, then 3 messages: more history than events
				o.Messages = append(o.Messages, model.Message{Text: fmt.Sprint("note of update ", i)})
			}
			f := store.Fence{Key: fmt.Sprintf("emg:m%d", i), Value: fmt.Sprintf("answer %d", i), Answer: true}
			testutil.Must(t, s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: fmt.Sprintf("ev%d", i), Type: model.EventOrderUpdated}}, f))
			if o.Version != int64(i) {
				t.Fatalf("version after update %d = %d", i, o.Version)
			}
			if a, err := s.Answer(ctx, f.Key); err != nil || string(a) != f.Value {
				t.Fatalf("answer of update %d = %q %v, want %q", i, a, err, f.Value)
			}
		}
		if n := rdb.SCard(ctx, "sog:outbox").Val(); n != 0 {
			t.Fatalf("outbox holds %d orders, want none", n)
		}
		if n := rdb.HLen(ctx, "sog:{ix}:dirty").Val(); n != 0 {
			t.Fatalf("index dirty marks = %d, want none", n)
		}
		testutil.Must(t, rdb.ScriptFlush(ctx).Err())
		err := s.UpdateOrderFenced(ctx, o, []*model.Event{{ID: "again"}}, store.Fence{Key: "emg:m3", Value: "x"})
		var dup *store.DuplicateError
		if !errors.As(err, &dup) || dup.Value != "answer 3" {
			t.Fatalf("repeat of emg:m3 after a flush = %v, want its first answer as a duplicate", err)
		}
		entries, err := rdb.XRange(ctx, s.StreamKey(), "-", "+").Result()
		testutil.Must(t, err)
		var ids []string
		for _, e := range entries {
			ids = append(ids, e.Values["event_id"].(string))
		}
		if fmt.Sprint(ids) != "[ev-flushed ev2 ev3 ev4]" {
			t.Fatalf("stream = %v, want each event once, in order", ids)
		}
		if pub, _ := rdb.HGet(ctx, "sog:{o:flushed}:order", "pub").Result(); pub != "4" {
			t.Fatalf("publish mark = %q, want 4 (the events, not the messages)", pub)
		}
		if got, _ := s.GetOrder(ctx, "flushed"); len(got.Messages) != 6 {
			t.Fatalf("messages = %d, want 6", len(got.Messages))
		}
		page, err := ix.Query(ctx, orderindex.Filter{Status: string(model.StatusResolved)}, "", 10)
		testutil.Must(t, err)
		if fmt.Sprint(page.IDs) != "[flushed]" {
			t.Fatalf("index of status resolved = %v, want [flushed]", page.IDs)
		}
		if page, _ = ix.Query(ctx, orderindex.Filter{Status: string(model.StatusInProgress)}, "", 10); len(page.IDs) != 0 {
			t.Fatalf("index of status in_progress = %v, want none (the order moved on)", page.IDs)
		}
	})
}
