package orderindex_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/orderindex"
	"github.com/equus/sogateway/internal/testutil"
)

var t0 = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func order(i int, partner string, st model.Status, v int64) *model.Order {
	return &model.Order{ID: fmt.Sprintf("o%04d", i), Partner: partner, Company: "globex", ServiceType: "move", Status: st,
		Refs: model.Refs{Requestor: fmt.Sprintf("R-%d", i)}, Version: v, UpdatedAt: t0.Add(time.Duration(i%7) * time.Second)}
}

func TestPagesListEveryMatchOnceNewestFirst(t *testing.T) {
	testutil.EachRedis(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		ix := orderindex.New(rdb, nil)
		want := map[string]bool{}
		for i := 0; i < 120; i++ {
			p, st := []string{"pruvan", "equus"}[i%2], []model.Status{model.StatusNew, model.StatusAccepted, model.StatusClosed}[i%3]
			testutil.Must(t, ix.Apply(ctx, order(i, p, st, 1)))
			if p == "pruvan" && st == model.StatusAccepted {
				want[fmt.Sprintf("o%04d", i)] = true
			}
		}
		got := map[string]bool{}
		cursor, pages := "", 0
		lastScore := t0.Add(time.Hour)
		for {
			page, err := ix.Query(ctx, orderindex.Filter{Partner: "pruvan", Status: "accepted"}, cursor, 7)
			testutil.Must(t, err)
			pages++
			for _, id := range page.IDs {
				if got[id] || !want[id] {
					t.Fatalf("Query returned %s twice or outside the filter", id)
				}
				got[id] = true
				var i int
				fmt.Sscanf(id, "o%04d", &i)
				if at := t0.Add(time.Duration(i%7) * time.Second); at.After(lastScore) {
					t.Fatalf("%s is newer than the order before it", id)
				} else {
					lastScore = at
				}
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		if len(got) != len(want) || pages < 3 {
			t.Fatalf("paged %d of %d matches in %d pages", len(got), len(want), pages)
		}
		page, err := ix.Query(ctx, orderindex.Filter{Ref: "R-5"}, "", 10)
		if testutil.Must(t, err); len(page.IDs) != 1 || page.IDs[0] != "o0005" {
			t.Fatalf("Query(ref R-5) = %v, want o0005", page.IDs)
		}
		page, err = ix.Query(ctx, orderindex.Filter{UpdatedSince: t0.Add(6 * time.Second)}, "", 500)
		if testutil.Must(t, err); len(page.IDs) != 120/7 {
			t.Fatalf("Query(updated since +6s) = %d orders, want %d", len(page.IDs), 120/7)
		}
		if _, err := ix.Query(ctx, orderindex.Filter{}, "garbage!", 10); err == nil {
			t.Fatal("a malformed cursor was accepted")
		}
	})
}

func TestConcurrentVersionsEndInTheNewestSets(t *testing.T) {
	testutil.EachRedis(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		ix := orderindex.New(rdb, nil)
		statuses := []model.Status{model.StatusNew, model.StatusSent, model.StatusAccepted, model.StatusInProgress, model.StatusResolved, model.StatusClosed}
		var wg sync.WaitGroup
		for v := len(statuses); v >= 1; v-- { // newest first: the worst order of arrival
			wg.Add(1)
			go func(v int) {
				defer wg.Done()
				o := order(1, "pruvan", statuses[v-1], int64(v))
				testutil.Must(t, ix.Apply(ctx, o))
			}(v)
		}
		wg.Wait()
		for i, st := range statuses {
			page, err := ix.Query(ctx, orderindex.Filter{Status: string(st)}, "", 10)
			testutil.Must(t, err)
			if want := i == len(statuses)-1; (len(page.IDs) == 1) != want {
				t.Errorf("status %s lists %v; only the newest version's status (closed) should", st, page.IDs)
			}
		}
	})
}

func TestRepairIndexesWhatACrashLeftMarked(t *testing.T) {
	_, rdb := testutil.MiniRedis(t)
	ctx := context.Background()
	ix := orderindex.New(rdb, nil)
	o := order(3, "extend", model.StatusNew, 1)
	p := rdb.Pipeline()
	ix.Mark(ctx, p, o.ID, 1)
	_, err := p.Exec(ctx)
	testutil.Must(t, err)
	// The commit happened; the process died before Apply.
	n, err := ix.Repair(ctx, func(context.Context, string) (*model.Order, error) { return o, nil }, time.Minute)
	if testutil.Must(t, err); n != 1 {
		t.Fatalf("Repair = %d, want 1", n)
	}
	page, err := ix.Query(ctx, orderindex.Filter{Partner: "extend"}, "", 10)
	if testutil.Must(t, err); len(page.IDs) != 1 {
		t.Fatalf("after Repair the order is not found: %v", page.IDs)
	}
	if n, _ := ix.Repair(ctx, func(context.Context, string) (*model.Order, error) { return o, nil }, time.Minute); n != 0 {
		t.Fatalf("a second Repair found %d marks, want none", n)
	}
}

// TestChangedRefLeavesItsSetUnchangedStays: a new version leaves the sets of
// the values it changed and stays listed under those it kept.
func TestChangedRefLeavesItsSetUnchangedStays(t *testing.T) {
	testutil.EachRedis(t, func(t *testing.T, rdb redis.UniversalClient) {
		ctx := context.Background()
		ix := orderindex.New(rdb, nil)
		o := order(7, "emg", model.StatusNew, 1)
		o.Refs.Servicer = "S-1"
		testutil.Must(t, ix.Apply(ctx, o))
		o.Version, o.Refs.Requestor, o.Status = 2, "R-new", model.StatusInProgress
		testutil.Must(t, ix.Apply(ctx, o))
		for _, c := range []struct {
			f    orderindex.Filter
			want int
		}{
			{orderindex.Filter{Ref: "R-7"}, 0}, {orderindex.Filter{Ref: "R-new"}, 1}, {orderindex.Filter{Ref: "S-1"}, 1},
			{orderindex.Filter{Status: "new"}, 0}, {orderindex.Filter{Status: "in_progress"}, 1}, {orderindex.Filter{Partner: "emg"}, 1},
		} {
			page, err := ix.Query(ctx, c.f, "", 10)
			testutil.Must(t, err)
			if len(page.IDs) != c.want {
				t.Errorf("Query(%+v) = %v, want %d order(s)", c.f, page.IDs, c.want)
			}
		}
	})
}
