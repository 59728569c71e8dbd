package queue

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/testutil"
)

// TestRandomMovesKeepInvariants drives the queue with a random mix of every
// move (enqueue, claim, ack, retry, bury, extend, hold, release, reap, replay,
// stale acks, clock jumps) and after each one checks, from the raw Redis keys,
// that every job is in exactly the place its state says, that only group
// heads are due or leased, and that group lists keep (re)queue order.
func TestRandomMovesKeepInvariants(t *testing.T) {
	suite(t, &Options{MaxAttempts: 3, LeaseFor: 30 * time.Second}, func(t *testing.T, e *env) {
		steps := 400
		if testutil.Integration() {
			steps = 1500
		}
		rng := rand.New(rand.NewPCG(1, 2))
		const v = "acme"
		var leases, stale []*Lease
		pos := map[string]int{} // id -> (re)queue sequence number
		seq := 0
		groups := []string{"", "o1", "o2", "o3"}
		for step := 0; step < steps; step++ {
			var op string
			switch r := rng.IntN(100); {
			case r < 25:
				op = "enqueue"
				seq++
				id := fmt.Sprint("j", seq)
				at := time.Time{}
				if rng.IntN(4) == 0 {
					at = e.clk.Now().Add(time.Duration(rng.IntN(60)) * time.Second)
				}
				testutil.Must(t, e.q.Enqueue(e.ctx, &Job{ID: id, Vendor: v, Group: groups[rng.IntN(len(groups))]}, at))
				pos[id] = seq
			case r < 45:
				op = "claim"
				ls, err := e.q.Claim(e.ctx, v, 1+rng.IntN(4))
				testutil.Must(t, err)
				leases = append(leases, ls...)
			case r < 75 && len(leases) > 0:
				i := rng.IntN(len(leases))
				l := leases[i]
				leases = slices.Delete(leases, i, i+1)
				var err error
				switch rng.IntN(5) {
				case 0, 1:
					op, err = "ack", e.q.Ack(e.ctx, l)
				case 2:
					op = "retry"
					_, err = e.q.Retry(e.ctx, l, e.clk.Now().Add(time.Duration(rng.IntN(20))*time.Second), "x", rng.IntN(2) == 0)
				case 3:
					op, err = "bury", e.q.Bury(e.ctx, l, "x")
				case 4:
					op, err = "extend", e.q.Extend(e.ctx, l)
					if err == nil {
						leases = append(leases, l)
					}
				}
				if err != nil && !errors.Is(err, ErrLeaseLost) {
					t.Fatalf("step %d %s(%s): %v", step, op, l.Job.ID, err)
				}
				stale = append(stale, l)
			case r < 80 && len(stale) > 0:
				op = "stale settle"
				l := stale[rng.IntN(len(stale))]
				var err error
				switch rng.IntN(4) {
				case 0:
					err = e.q.Ack(e.ctx, l)
				case 1:
					_, err = e.q.Retry(e.ctx, l, time.Time{}, "stale", rng.IntN(2) == 0)
				case 2:
					err = e.q.Bury(e.ctx, l, "stale")
				case 3:
					err = e.q.Extend(e.ctx, l)
				}
				if err == nil {
					// Only a lease that is still its job's current one may ack.
					if !slices.Contains(leases, l) {
						t.Fatalf("step %d: a settled lease of %s settled its job again", step, l.Job.ID)
					}
				}
			case r < 85:
				op = "clock"
				e.clk.Advance(time.Duration(rng.IntN(40)) * time.Second)
			case r < 88:
				op = "hold"
				testutil.Must(t, e.q.Hold(e.ctx, v, e.clk.Now().Add(time.Duration(rng.IntN(60))*time.Second)))
			case r < 90:
				op = "release"
				testutil.Must(t, e.q.Release(e.ctx, v))
			case r < 93:
				op = "reap"
				_, err := e.q.Reap(e.ctx)
				testutil.Must(t, err)
			default:
				op = "replay"
				dead, err := e.q.Dead(e.ctx, v, 0, 5)
				testutil.Must(t, err)
				if len(dead) > 0 {
					testutil.Must(t, e.q.Replay(e.ctx, v, dead[0].ID))
					seq++
					pos[dead[0].ID] = seq
				}
			}
			// A lease whose job was reclaimed is stale from now on.
			live := leases[:0]
			for _, l := range leases {
				j := e.get(t, v, l.Job.ID)
				if j.State == StateLeased && e.token(t, v, l.Job.ID) == l.Token {
					live = append(live, l)
				} else {
					stale = append(stale, l)
				}
			}
			leases = live
			if msg := e.invariants(t, v, pos); msg != "" {
				t.Fatalf("after step %d (%s): %s", step, op, msg)
			}
		}
	})
}

func (e *env) token(t *testing.T, v, id string) string {
	t.Helper()
	tok, err := e.rdb.HGet(e.ctx, e.q.jobKey(v, id), "token").Result()
	testutil.Must(t, err)
	return tok
}

// invariants checks the raw keys of vendor v and returns what is wrong.
func (e *env) invariants(t *testing.T, v string, pos map[string]int) string {
	t.Helper()
	set := func(key string) map[string]float64 {
		zs, err := e.rdb.ZRangeWithScores(e.ctx, key, 0, -1).Result()
		testutil.Must(t, err)
		m := map[string]float64{}
		for _, z := range zs {
			m[z.Member.(string)] = z.Score
		}
		return m
	}
	due, lease, dead, live := set(e.q.dueKey(v)), set(e.q.leaseKey(v)), set(e.q.deadKey(v)), set(e.q.liveKey(v))
	keys, err := e.rdb.Keys(e.ctx, e.q.groupPrefix(v)+"*").Result()
	testutil.Must(t, err)
	heads := map[string]bool{}
	inGroup := map[string]string{}
	for _, k := range keys {
		g := strings.TrimPrefix(k, e.q.groupPrefix(v))
		ids, err := e.rdb.LRange(e.ctx, k, 0, -1).Result()
		testutil.Must(t, err)
		for i, id := range ids {
			inGroup[id] = g
			if i == 0 {
				heads[id] = true
			} else if pos[id] <= pos[ids[i-1]] {
				return fmt.Sprintf("group %s out of order: %v", g, ids)
			}
		}
	}
	for id := range pos {
		h, err := e.rdb.HGetAll(e.ctx, e.q.jobKey(v, id)).Result()
		testutil.Must(t, err)
		state, grp := h["state"], h["group"]
		_, inDue := due[id]
		_, inLease := lease[id]
		_, inDead := dead[id]
		_, inLive := live[id]
		if g, ok := inGroup[id]; ok && g != grp {
			return fmt.Sprintf("%s is in group list %s, its hash says %q", id, g, grp)
		}
		_, listed := inGroup[id]
		want := map[string][5]bool{ // due, lease, dead, live, in group list
			"pending": {grp == "" || heads[id], false, false, true, grp != ""},
			"leased":  {false, true, false, true, grp != ""},
			"dead":    {false, false, true, false, false},
			"done":    {false, false, false, false, false},
		}
		w, ok := want[state]
		if !ok {
			return fmt.Sprintf("%s has state %q", id, state)
		}
		if got := [5]bool{inDue, inLease, inDead, inLive, listed}; got != w {
			return fmt.Sprintf("%s (%s, group %q, head %v): in due/lease/dead/live/group = %v, want %v", id, state, grp, heads[id], got, w)
		}
		if state == "leased" {
			if !heads[id] && grp != "" {
				return fmt.Sprintf("%s is leased but not its group's head", id)
			}
			if u, _ := strconv.ParseFloat(h["until"], 64); u != lease[id] {
				return fmt.Sprintf("%s lease score %v, hash until %v", id, lease[id], u)
			}
		}
		if n, _ := strconv.Atoi(h["attempts"]); n < 0 || n > 3 {
			return fmt.Sprintf("%s has %d attempts, budget 3", id, n)
		}
	}
	if len(due)+len(lease)+len(dead) > len(pos) {
		return "sets hold ids that were never enqueued"
	}
	return ""
}
