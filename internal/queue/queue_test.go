package queue

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/clock"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// env is one queue on one backend with a settable clock.
type env struct {
	q   *Queue
	clk *clock.Offset
	rdb redis.UniversalClient
	ctx context.Context
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t *testing.T, rdb redis.UniversalClient, opt *Options) *env {
	t.Helper()
	clk := &clock.Offset{}
	o := Options{Now: clk.Now, Logger: quiet()}
	if opt != nil {
		o = *opt
		if o.Now == nil {
			o.Now = clk.Now
		}
		if o.Logger == nil {
			o.Logger = quiet()
		}
	}
	return &env{q: New(rdb, &o), clk: clk, rdb: rdb, ctx: context.Background()}
}

// suite runs fn against miniredis and, in the integration run, against a real
// redis-server (the same tests on the fake and the real server).
func suite(t *testing.T, opt *Options, fn func(t *testing.T, e *env)) {
	testutil.EachRedis(t, func(t *testing.T, c redis.UniversalClient) { fn(t, newEnv(t, c, opt)) })
}

func (e *env) enqueue(t *testing.T, vendor, group string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := e.q.Enqueue(e.ctx, &Job{ID: id, Vendor: vendor, Group: group, Payload: []byte("p-" + id)}, time.Time{}); err != nil {
			t.Fatalf("Enqueue(%s) = %v, want nil", id, err)
		}
	}
}

func (e *env) claim(t *testing.T, vendor string, max int) []*Lease {
	t.Helper()
	ls, err := e.q.Claim(e.ctx, vendor, max)
	if err != nil {
		t.Fatalf("Claim(%s, %d) = %v", vendor, max, err)
	}
	return ls
}

func ids(ls []*Lease) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = l.Job.ID
	}
	slices.Sort(out)
	return out
}

func (e *env) get(t *testing.T, vendor, id string) *Job {
	t.Helper()
	j, err := e.q.Get(e.ctx, vendor, id)
	if err != nil {
		t.Fatalf("Get(%s, %s) = %v", vendor, id, err)
	}
	return j
}

func TestEnqueueIsIdempotentOnID(t *testing.T) {
	suite(t, nil, func(t *testing.T, e *env) {
		first := &Job{ID: "d1", Vendor: "acme", Group: "o1", Payload: []byte("first"), Meta: map[string]string{"order": "o1"}}
		testutil.Must(t, e.q.Enqueue(e.ctx, first, time.Time{}))
		if first.State != StatePending || first.CreatedAt.IsZero() {
			t.Fatalf("Enqueue set State=%q CreatedAt=%v, want pending and a time", first.State, first.CreatedAt)
		}
		testutil.Must(t, e.q.Enqueue(e.ctx, &Job{ID: "d1", Vendor: "acme", Group: "o1", Payload: []byte("second")}, time.Time{}))
		ls := e.claim(t, "acme", 10)
		if len(ls) != 1 || string(ls[0].Job.Payload) != "first" || ls[0].Job.Meta["order"] != "o1" {
			t.Fatalf("Claim after two Enqueue of d1 = %d leases, want 1 with the first payload and meta", len(ls))
		}
		testutil.Must(t, e.q.Ack(e.ctx, ls[0]))
		// Still a no-op after it was delivered (retention keeps the id).
		testutil.Must(t, e.q.Enqueue(e.ctx, &Job{ID: "d1", Vendor: "acme", Payload: []byte("third")}, time.Time{}))
		if ls := e.claim(t, "acme", 10); len(ls) != 0 {
			t.Fatalf("Claim after re-Enqueue of a done id = %v, want none", ids(ls))
		}
		if j := e.get(t, "acme", "d1"); j.State != StateDone || string(j.Payload) != "first" {
			t.Fatalf("Get(d1) = state %q payload %q, want done, first", j.State, j.Payload)
		}
	})
}

func TestEnqueueRejectsBadInput(t *testing.T) {
	_, c := testutil.MiniRedis(t)
	e := newEnv(t, c, nil)
	for _, j := range []*Job{
		{ID: "", Vendor: "acme"},
		{ID: "x", Vendor: ""},
		{ID: "x", Vendor: "Acme"},
		{ID: "x", Vendor: "a}b"},
		{ID: string(make([]byte, 300)), Vendor: "acme"},
		{ID: "x", Vendor: "acme", Group: string(make([]byte, 300))},
	} {
		if err := e.q.Enqueue(e.ctx, j, time.Time{}); !errors.Is(err, model.ErrInvalid) {
			t.Errorf("Enqueue(id %.10q vendor %q) = %v, want model.ErrInvalid", j.ID, j.Vendor, err)
		}
	}
}

func TestFutureJobIsDueAtItsTime(t *testing.T) {
	suite(t, nil, func(t *testing.T, e *env) {
		testutil.Must(t, e.q.Enqueue(e.ctx, &Job{ID: "later", Vendor: "acme"}, e.clk.Now().Add(time.Hour)))
		if ls := e.claim(t, "acme", 10); len(ls) != 0 {
			t.Fatalf("Claim before due = %v, want none", ids(ls))
		}
		e.clk.Advance(time.Hour + time.Second)
		if ls := e.claim(t, "acme", 10); len(ls) != 1 {
			t.Fatalf("Claim after due = %v, want [later]", ids(ls))
		}
	})
}

func TestVendorsAreSeparate(t *testing.T) {
	suite(t, nil, func(t *testing.T, e *env) {
		e.enqueue(t, "acme", "", "a1")
		e.enqueue(t, "globex", "", "g1")
		testutil.Must(t, e.q.Hold(e.ctx, "globex", e.clk.Now().Add(time.Hour)))
		if got := ids(e.claim(t, "acme", 10)); !slices.Equal(got, []string{"a1"}) {
			t.Fatalf("Claim(acme) = %v, want [a1]", got)
		}
		if got := ids(e.claim(t, "globex", 10)); len(got) != 0 {
			t.Fatalf("Claim(globex) while held = %v, want none", got)
		}
	})
}

func TestGroupOrderHoldsAcrossRetries(t *testing.T) {
	suite(t, nil, func(t *testing.T, e *env) {
		e.enqueue(t, "acme", "o1", "a1", "a2", "a3")
		e.enqueue(t, "acme", "o2", "b1")
		e.enqueue(t, "acme", "", "c1")
		ls := e.claim(t, "acme", 10)
		if got := ids(ls); !slices.Equal(got, []string{"a1", "b1", "c1"}) {
			t.Fatalf("Claim = %v, want the group heads [a1 b1 c1]", got)
		}
		var a1 *Lease
		for _, l := range ls {
			if l.Job.ID == "a1" {
				a1 = l
			} else {
				testutil.Must(t, e.q.Ack(e.ctx, l))
			}
		}
		st, err := e.q.Retry(e.ctx, a1, time.Time{}, "503 from vendor", true)
		if err != nil || st != StatePending {
			t.Fatalf("Retry(a1) = %q, %v, want pending, nil", st, err)
		}
		ls = e.claim(t, "acme", 10)
		if got := ids(ls); !slices.Equal(got, []string{"a1"}) {
			t.Fatalf("Claim after retrying a1 = %v, want [a1] again (a2 must wait)", got)
		}
		if ls[0].Job.Attempts != 2 || ls[0].Job.LastError != "503 from vendor" {
			t.Fatalf("retried a1 attempts=%d lastError=%q, want 2, %q", ls[0].Job.Attempts, ls[0].Job.LastError, "503 from vendor")
		}
		testutil.Must(t, e.q.Ack(e.ctx, ls[0]))
		for _, want := range []string{"a2", "a3"} {
			ls = e.claim(t, "acme", 10)
			if got := ids(ls); !slices.Equal(got, []string{want}) {
				t.Fatalf("Claim = %v, want [%s]", got, want)
			}
			testutil.Must(t, e.q.Ack(e.ctx, ls[0]))
		}
		s, err := e.q.Stats(e.ctx, "acme")
		testutil.Must(t, err)
		if s.Depth != 0 {
			t.Fatalf("Stats.Depth after all acked = %d, want 0", s.Depth)
		}
	})
}

func TestBuryLetsTheGroupGoOn(t *testing.T) {
	suite(t, nil, func(t *testing.T, e *env) {
		e.enqueue(t, "acme", "o1", "a1", "a2")
		ls := e.claim(t, "acme", 10)
		testutil.Must(t, e.q.Bury(e.ctx, ls[0], "410 gone"))
		if got := ids(e.claim(t, "acme", 10)); !slices.Equal(got, []string{"a2"}) {
			t.Fatalf("Claim after burying a1 = %v, want [a2]", got)
		}
		dead, err := e.q.Dead(e.ctx, "acme", 0, 10)
		testutil.Must(t, err)
		if len(dead) != 1 || dead[0].ID != "a1" || dead[0].LastError != "410 gone" || dead[0].State != StateDead {
			t.Fatalf("Dead(acme) = %+v, want a1 with its error", dead)
		}
	})
}

func TestLeaseTokenFencesAStaleWorker(t *testing.T) {
	suite(t, nil, func(t *testing.T, e *env) {
		other := New(e.rdb, &Options{Now: e.clk.Now, Logger: quiet()})
		e.enqueue(t, "acme", "o1", "d1", "d2")
		stale := e.claim(t, "acme", 1)[0]
		e.clk.Advance(31 * time.Second) // past the 30s lease
		ls, err := other.Claim(e.ctx, "acme", 10)
		testutil.Must(t, err)
		if got := ids(ls); !slices.Equal(got, []string{"d1"}) {
			t.Fatalf("other.Claim after lease expiry = %v, want [d1] (d2 waits behind it)", got)
		}
		fresh := ls[0]
		if fresh.Token == stale.Token || fresh.Job.Attempts != 2 {
			t.Fatalf("reclaimed lease token=%q attempts=%d, want a new token and attempt 2", fresh.Token, fresh.Job.Attempts)
		}
		if err := e.q.Ack(e.ctx, stale); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("Ack(stale) = %v, want ErrLeaseLost", err)
		}
		if _, err := e.q.Retry(e.ctx, stale, time.Time{}, "x", true); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("Retry(stale) = %v, want ErrLeaseLost", err)
		}
		if err := e.q.Bury(e.ctx, stale, "x"); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("Bury(stale) = %v, want ErrLeaseLost", err)
		}
		if err := e.q.Extend(e.ctx, stale); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("Extend(stale) = %v, want ErrLeaseLost", err)
		}
		testutil.Must(t, other.Ack(e.ctx, fresh))
		if err := other.Ack(e.ctx, fresh); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("second Ack(fresh) = %v, want ErrLeaseLost", err)
		}
		if got := ids(e.claim(t, "acme", 10)); !slices.Equal(got, []string{"d2"}) {
			t.Fatalf("Claim after d1 acked = %v, want [d2]", got)
		}
	})
}

func TestExtendKeepsTheLease(t *testing.T) {
	suite(t, nil, func(t *testing.T, e *env) {
		e.enqueue(t, "acme", "", "d1")
		l := e.claim(t, "acme", 1)[0]
		e.clk.Advance(20 * time.Second)
		before := l.Until
		testutil.Must(t, e.q.Extend(e.ctx, l))
		if !l.Until.After(before) {
			t.Fatalf("Extend: Until = %v, want after %v", l.Until, before)
		}
		e.clk.Advance(20 * time.Second) // 40s after the claim, 20s after Extend
		if ls := e.claim(t, "acme", 1); len(ls) != 0 {
			t.Fatalf("Claim of an extended lease = %v, want none", ids(ls))
		}
		testutil.Must(t, e.q.Ack(e.ctx, l))
	})
}

func TestReapGivesBackExpiredLeases(t *testing.T) {
	suite(t, &Options{MaxAttempts: 2}, func(t *testing.T, e *env) {
		e.enqueue(t, "acme", "", "d1")
		e.claim(t, "acme", 1)
		if n, err := e.q.Reap(e.ctx); n != 0 || err != nil {
			t.Fatalf("Reap before expiry = %d, %v, want 0, nil", n, err)
		}
		e.clk.Advance(31 * time.Second)
		if n, err := e.q.Reap(e.ctx); n != 1 || err != nil {
			t.Fatalf("Reap after expiry = %d, %v, want 1, nil", n, err)
		}
		j := e.get(t, "acme", "d1")
		if j.State != StatePending || j.LastError != "lease expired" || j.Attempts != 1 {
			t.Fatalf("Get(d1) after reap = %q %q attempts %d, want pending, lease expired, 1", j.State, j.LastError, j.Attempts)
		}
		e.claim(t, "acme", 1) // attempt 2 of 2
		e.clk.Advance(31 * time.Second)
		if n, err := e.q.Reap(e.ctx); n != 1 || err != nil {
			t.Fatalf("second Reap = %d, %v, want 1, nil", n, err)
		}
		if j := e.get(t, "acme", "d1"); j.State != StateDead {
			t.Fatalf("Get(d1) after its last lease expired = %q, want dead", j.State)
		}
	})
}

func TestAttemptsAndAgeEndInTheDeadSet(t *testing.T) {
	suite(t, &Options{MaxAttempts: 3, MaxAge: 72 * time.Hour}, func(t *testing.T, e *env) {
		e.enqueue(t, "acme", "o1", "d1", "d2")
		for i := 1; i <= 3; i++ {
			l := e.claim(t, "acme", 10)
			if len(l) != 1 || l[0].Job.ID != "d1" {
				t.Fatalf("Claim #%d = %v, want [d1]", i, ids(l))
			}
			st, err := e.q.Retry(e.ctx, l[0], time.Time{}, fmt.Sprintf("fail %d", i), true)
			testutil.Must(t, err)
			want := StatePending
			if i == 3 {
				want = StateDead
			}
			if st != want {
				t.Fatalf("Retry #%d = %q, want %q", i, st, want)
			}
		}
		// d1 died on attempt 3; d2 goes on.
		l := e.claim(t, "acme", 10)
		if got := ids(l); !slices.Equal(got, []string{"d2"}) {
			t.Fatalf("Claim after d1 died = %v, want [d2]", got)
		}
		e.clk.Advance(73 * time.Hour)
		st, err := e.q.Retry(e.ctx, l[0], time.Time{}, "too old", true)
		if err != nil || st != StateDead {
			t.Fatalf("Retry of a 73h old job = %q, %v, want dead", st, err)
		}
		s, err := e.q.Stats(e.ctx, "acme")
		testutil.Must(t, err)
		if s.Dead != 2 || s.Depth != 0 {
			t.Fatalf("Stats = %+v, want Dead 2 Depth 0", s)
		}
		page, err := e.q.Dead(e.ctx, "acme", 1, 1)
		testutil.Must(t, err)
		if len(page) != 1 || page[0].ID != "d1" {
			t.Fatalf("Dead(offset 1, limit 1) = %v, want [d1] (newest first)", page)
		}
	})
}

func TestHoldDoesNotSpendAttempts(t *testing.T) {
	suite(t, &Options{MaxAttempts: 2}, func(t *testing.T, e *env) {
		e.enqueue(t, "acme", "", "d1")
		// The vendor is still offline after its window: retried hourly, forever.
		for i := 0; i < 5; i++ {
			l := e.claim(t, "acme", 1)
			if len(l) != 1 {
				t.Fatalf("hourly Claim #%d = none, want d1", i)
			}
			st, err := e.q.Retry(e.ctx, l[0], e.clk.Now().Add(time.Hour), "vendor offline", false)
			if err != nil || st != StatePending {
				t.Fatalf("Retry(no spend) #%d = %q, %v, want pending", i, st, err)
			}
			if ls := e.claim(t, "acme", 1); len(ls) != 0 {
				t.Fatalf("Claim within the hour = %v, want none", ids(ls))
			}
			e.clk.Advance(time.Hour)
		}
		if j := e.get(t, "acme", "d1"); j.Attempts != 0 || j.State != StatePending {
			t.Fatalf("Get(d1) = attempts %d state %q, want 0 pending", j.Attempts, j.State)
		}
	})
}

func TestOfflineWindow(t *testing.T) {
	suite(t, nil, func(t *testing.T, e *env) {
		end := e.clk.Now().Add(2 * time.Hour)
		testutil.Must(t, e.q.Hold(e.ctx, "acme", end))
		e.enqueue(t, "acme", "o1", "d1", "d2")
		if ls := e.claim(t, "acme", 10); len(ls) != 0 {
			t.Fatalf("Claim during the window = %v, want none", ids(ls))
		}
		h, err := e.q.HoldOf(e.ctx, "acme")
		if err != nil || h == nil || h.UnixMilli() != end.UnixMilli() {
			t.Fatalf("HoldOf(acme) = %v, %v, want %v", h, err, end)
		}
		if j := e.get(t, "acme", "d1"); j.HeldUntil == nil || j.HeldUntil.UnixMilli() != end.UnixMilli() {
			t.Fatalf("Get(d1).HeldUntil = %v, want %v", j.HeldUntil, end)
		}
		s, err := e.q.Stats(e.ctx, "acme")
		testutil.Must(t, err)
		if s.Held != 2 || s.Depth != 2 || s.HeldUntil == nil {
			t.Fatalf("Stats during the window = %+v, want Held 2 Depth 2", s)
		}
		// Shortened to 30 minutes: released at the new end.
		testutil.Must(t, e.q.Hold(e.ctx, "acme", e.clk.Now().Add(30*time.Minute)))
		e.clk.Advance(29 * time.Minute)
		if ls := e.claim(t, "acme", 10); len(ls) != 0 {
			t.Fatalf("Claim before the shortened end = %v, want none", ids(ls))
		}
		e.clk.Advance(time.Minute + time.Millisecond)
		ls := e.claim(t, "acme", 10)
		if got := ids(ls); !slices.Equal(got, []string{"d1"}) {
			t.Fatalf("Claim at the shortened end = %v, want [d1]", got)
		}
		if ls[0].Job.Attempts != 1 {
			t.Fatalf("first claim after the window: attempts = %d, want 1", ls[0].Job.Attempts)
		}
		if h, _ := e.q.HoldOf(e.ctx, "acme"); h != nil {
			t.Fatalf("HoldOf after the end = %v, want nil", h)
		}
		testutil.Must(t, e.q.Ack(e.ctx, ls[0]))
		// Extended window, then cancelled: released on cancellation.
		testutil.Must(t, e.q.Hold(e.ctx, "acme", e.clk.Now().Add(time.Hour)))
		testutil.Must(t, e.q.Hold(e.ctx, "acme", e.clk.Now().Add(3*time.Hour)))
		e.clk.Advance(2 * time.Hour)
		if ls := e.claim(t, "acme", 10); len(ls) != 0 {
			t.Fatalf("Claim inside the extended window = %v, want none", ids(ls))
		}
		testutil.Must(t, e.q.Release(e.ctx, "acme"))
		if got := ids(e.claim(t, "acme", 10)); !slices.Equal(got, []string{"d2"}) {
			t.Fatalf("Claim after Release = %v, want [d2]", got)
		}
	})
}

func TestWindowInTheFuture(t *testing.T) {
	suite(t, nil, func(t *testing.T, e *env) {
		now := e.clk.Now()
		testutil.Must(t, e.q.HoldWindow(e.ctx, "acme", now.Add(time.Hour), now.Add(2*time.Hour)))
		if h, _ := e.q.HoldOf(e.ctx, "acme"); h != nil {
			t.Fatalf("HoldOf before the window starts = %v, want nil", h)
		}
		e.enqueue(t, "acme", "", "d1")
		if got := ids(e.claim(t, "acme", 10)); !slices.Equal(got, []string{"d1"}) {
			t.Fatalf("Claim before the window = %v, want [d1]", got)
		}
		e.clk.Advance(time.Hour)
		e.enqueue(t, "acme", "", "d2")
		if ls := e.claim(t, "acme", 10); len(ls) != 0 {
			t.Fatalf("Claim inside the window = %v, want none", ids(ls))
		}
		if err := e.q.HoldWindow(e.ctx, "acme", now.Add(time.Hour), now); !errors.Is(err, model.ErrInvalid) {
			t.Fatalf("HoldWindow(end before start) = %v, want model.ErrInvalid", err)
		}
	})
}

func TestReplay(t *testing.T) {
	suite(t, &Options{MaxAttempts: 1}, func(t *testing.T, e *env) {
		e.enqueue(t, "acme", "o1", "d1", "d2")
		e.enqueue(t, "acme", "o2", "e1")
		for _, l := range e.claim(t, "acme", 10) {
			testutil.Must(t, e.q.Bury(e.ctx, l, "boom"))
		}
		l := e.claim(t, "acme", 10)
		if got := ids(l); !slices.Equal(got, []string{"d2"}) {
			t.Fatalf("Claim = %v, want [d2]", got)
		}
		testutil.Must(t, e.q.Bury(e.ctx, l[0], "boom"))
		if err := e.q.Replay(e.ctx, "acme", "nope"); !errors.Is(err, ErrNotFound) || !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("Replay(nope) = %v, want ErrNotFound and model.ErrNotFound", err)
		}
		testutil.Must(t, e.q.Replay(e.ctx, "acme", "e1"))
		if err := e.q.Replay(e.ctx, "acme", "e1"); !errors.Is(err, ErrNotDead) {
			t.Fatalf("second Replay(e1) = %v, want ErrNotDead", err)
		}
		l = e.claim(t, "acme", 10)
		if got := ids(l); !slices.Equal(got, []string{"e1"}) || l[0].Job.Attempts != 1 {
			t.Fatalf("Claim after Replay(e1) = %v, want [e1] with a fresh budget", got)
		}
		testutil.Must(t, e.q.Ack(e.ctx, l[0]))
		n, err := e.q.ReplayDead(e.ctx, "acme")
		if n != 2 || err != nil {
			t.Fatalf("ReplayDead = %d, %v, want 2, nil", n, err)
		}
		// The group's order survives the bulk replay: d1 died first.
		for _, want := range []string{"d1", "d2"} {
			l = e.claim(t, "acme", 10)
			if got := ids(l); !slices.Equal(got, []string{want}) {
				t.Fatalf("Claim after ReplayDead = %v, want [%s]", got, want)
			}
			testutil.Must(t, e.q.Ack(e.ctx, l[0]))
		}
		if _, err := e.q.Get(e.ctx, "acme", "nope"); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("Get(nope) = %v, want model.ErrNotFound", err)
		}
	})
}

func TestStatsDepthAndAge(t *testing.T) {
	suite(t, nil, func(t *testing.T, e *env) {
		e.enqueue(t, "acme", "o1", "d1", "d2")
		e.enqueue(t, "acme", "", "d3")
		testutil.Must(t, e.q.Enqueue(e.ctx, &Job{ID: "d4", Vendor: "acme"}, e.clk.Now().Add(time.Hour)))
		e.clk.Advance(10 * time.Minute)
		e.claim(t, "acme", 1)
		s, err := e.q.Stats(e.ctx, "acme")
		testutil.Must(t, err)
		if s.Depth != 4 || s.Leased != 1 || s.Due != 1 || s.Held != 0 || s.OldestAge < 10*time.Minute {
			t.Fatalf("Stats = %+v, want Depth 4 Leased 1 Due 1 Held 0 OldestAge >= 10m", s)
		}
		vs, err := e.q.Vendors(e.ctx)
		if err != nil || !slices.Equal(vs, []string{"acme"}) {
			t.Fatalf("Vendors = %v, %v, want [acme]", vs, err)
		}
	})
}

// TestWaitWakesOnWork shows that a waiting worker wakes when a job is
// enqueued and when a window ends, without a notification, before its max
// wait (an hour here: the test would hit go test's timeout otherwise).
func TestWaitWakesOnWork(t *testing.T) {
	suite(t, nil, func(t *testing.T, e *env) {
		done := make(chan error, 1)
		go func() { done <- e.q.Wait(e.ctx, "acme", time.Hour) }()
		e.enqueue(t, "acme", "", "d1")
		testutil.Must(t, <-done)
		testutil.Must(t, e.q.Wait(e.ctx, "acme", time.Hour)) // due now: returns at once
		if got := ids(e.claim(t, "acme", 1)); !slices.Equal(got, []string{"d1"}) {
			t.Fatalf("Claim after Wait = %v, want [d1]", got)
		}
		// A window of 200ms real time: Wait sleeps to its end and returns.
		testutil.Must(t, e.q.Hold(e.ctx, "acme", e.clk.Now().Add(200*time.Millisecond)))
		e.enqueue(t, "acme", "", "d2")
		for {
			testutil.Must(t, e.q.Wait(e.ctx, "acme", time.Hour))
			if ls := e.claim(t, "acme", 1); len(ls) == 1 {
				break
			}
		}
		// Notify wakes a waiter with nothing to do.
		go func() { done <- e.q.Wait(e.ctx, "acme", time.Hour) }()
		time.Sleep(10 * time.Millisecond)
		testutil.Must(t, e.q.Notify(e.ctx, "acme"))
		testutil.Must(t, <-done)
		ctx, cancel := context.WithTimeout(e.ctx, 20*time.Millisecond)
		defer cancel()
		if err := e.q.Wait(ctx, "acme", time.Hour); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait(ctx ending) = %v, want context.DeadlineExceeded", err)
		}
	})
}

// TestRunDeliversInGroupOrder drives Run with a handler that fails every job
// once: each group still comes out in enqueue order.
func TestRunDeliversInGroupOrder(t *testing.T) {
	suite(t, nil, func(t *testing.T, e *env) {
		const groups, per = 5, 6
		for g := 0; g < groups; g++ {
			for i := 0; i < per; i++ {
				e.enqueue(t, "acme", fmt.Sprint("o", g), fmt.Sprintf("o%d-%d", g, i))
			}
		}
		ctx, cancel := context.WithCancel(e.ctx)
		defer cancel()
		var mu sync.Mutex
		failed := map[string]bool{}
		got := map[string][]string{}
		n := 0
		var wg sync.WaitGroup
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = e.q.Run(ctx, "acme", 4, func(ctx context.Context, ls []*Lease) {
					for _, l := range ls {
						mu.Lock()
						first := !failed[l.Job.ID]
						failed[l.Job.ID] = true
						if !first {
							got[l.Job.Group] = append(got[l.Job.Group], l.Job.ID)
							n++
							if n == groups*per {
								cancel()
							}
						}
						mu.Unlock()
						var err error
						if first {
							_, err = e.q.Retry(ctx, l, time.Time{}, "first try fails", true)
						} else {
							err = e.q.Ack(ctx, l)
						}
						if err != nil && ctx.Err() == nil {
							t.Errorf("settle %s: %v", l.Job.ID, err)
						}
					}
				})
			}()
		}
		wg.Wait()
		for g := 0; g < groups; g++ {
			var want []string
			for i := 0; i < per; i++ {
				want = append(want, fmt.Sprintf("o%d-%d", g, i))
			}
			if k := fmt.Sprint("o", g); !slices.Equal(got[k], want) {
				t.Errorf("group %s delivered %v, want %v", k, got[k], want)
			}
		}
	})
}

func TestAckAllAcksWhatItOwns(t *testing.T) {
	suite(t, nil, func(t *testing.T, e *env) {
		e.enqueue(t, "acme", "o1", "a1", "a2")
		e.enqueue(t, "acme", "", "b1", "c1")
		e.enqueue(t, "globex", "", "g1")
		ls := e.claim(t, "acme", 10)
		ls = append(ls, e.claim(t, "globex", 10)...)
		if len(ls) != 4 {
			t.Fatalf("claimed %v, want a1 b1 c1 g1", ids(ls))
		}
		var stale *Lease
		for _, l := range ls {
			if l.Job.ID == "c1" {
				stale = l
			}
		}
		forged := *stale
		forged.Token = "not-the-token"
		batch := []*Lease{ls[0], ls[1], ls[3], &forged}
		if err := e.q.AckAll(e.ctx, batch); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("AckAll with a forged token = %v, want ErrLeaseLost", err)
		}
		for _, l := range []*Lease{ls[0], ls[1], ls[3]} {
			if j := e.get(t, l.Job.Vendor, l.Job.ID); j.State != StateDone {
				t.Errorf("Get(%s) after AckAll = %q, want done", l.Job.ID, j.State)
			}
		}
		if j := e.get(t, "acme", "c1"); j.State != StateLeased {
			t.Errorf("Get(c1) after a forged ack = %q, want still leased", j.State)
		}
		if got := ids(e.claim(t, "acme", 10)); !slices.Equal(got, []string{"a2"}) {
			t.Fatalf("Claim after AckAll = %v, want [a2]", got)
		}
		testutil.Must(t, e.q.AckAll(e.ctx, nil))
	})
}

// TestWaitEndsWithItsContext shows that cancelling ctx ends a Wait that
// would otherwise block for its whole max (an hour: the test would time out).
func TestWaitEndsWithItsContext(t *testing.T) {
	suite(t, nil, func(t *testing.T, e *env) {
		ctx, cancel := context.WithCancel(e.ctx)
		done := make(chan error, 1)
		go func() { done <- e.q.Wait(ctx, "idle", time.Hour) }()
		time.Sleep(20 * time.Millisecond)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("Wait after cancel = %v, want context.Canceled", err)
		}
	})
}
