package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Reap gives every vendor's expired leases back to the due set (or buries
// them when their attempts are spent) and returns how many it moved. Any
// replica may run it at any time; Claim does the same for its own vendor.
func (q *Queue) Reap(ctx context.Context) (int, error) {
	vendors, err := q.rdb.SMembers(ctx, q.vendorsKey()).Result()
	if err != nil {
		return 0, fmt.Errorf("queue: reap: %w", err)
	}
	total := 0
	for _, v := range vendors {
		for {
			n, err := reapScript.Run(ctx, q.rdb,
				[]string{q.dueKey(v), q.leaseKey(v), q.deadKey(v), q.liveKey(v), q.wakeKey(v)},
				q.offsetMs(), reapBatch, q.jobPrefix(v), q.groupPrefix(v)).Int()
			if err != nil {
				return total, fmt.Errorf("queue: reap %s: %w", v, err)
			}
			total += n
			if n > 0 {
				q.log.Warn("queue: leases expired, jobs given back", "vendor", v, "count", n)
			}
			if n < reapBatch {
				break
			}
		}
	}
	return total, nil
}

const reapBatch = 500

// Replay puts one dead job back in the queue, due now, with a fresh attempt
// budget and age; it joins the tail of its group. It returns ErrNotFound or
// ErrNotDead.
func (q *Queue) Replay(ctx context.Context, vendor, id string) error {
	if err := validVendor(vendor); err != nil {
		return err
	}
	n, err := replayScript.Run(ctx, q.rdb,
		[]string{q.jobKey(vendor, id), q.deadKey(vendor), q.dueKey(vendor), q.liveKey(vendor), q.wakeKey(vendor)},
		q.offsetMs(), id, q.groupPrefix(vendor)).Int()
	if err != nil {
		return fmt.Errorf("queue: replay %s: %w", id, err)
	}
	switch n {
	case -1:
		return fmt.Errorf("queue: replay %s: %w", id, ErrNotFound)
	case 0:
		return fmt.Errorf("queue: replay %s: %w", id, ErrNotDead)
	}
	return nil
}

// ReplayDead replays every dead job of vendor, oldest death first (so the
// jobs of one group keep their order), and returns how many.
func (q *Queue) ReplayDead(ctx context.Context, vendor string) (int, error) {
	if err := validVendor(vendor); err != nil {
		return 0, err
	}
	total := 0
	for {
		r, err := replayDeadScript.Run(ctx, q.rdb,
			[]string{q.deadKey(vendor), q.dueKey(vendor), q.liveKey(vendor), q.wakeKey(vendor)},
			q.offsetMs(), replayBatch, q.jobPrefix(vendor), q.groupPrefix(vendor)).Int64Slice()
		if err != nil {
			return total, fmt.Errorf("queue: replay dead %s: %w", vendor, err)
		}
		total += int(r[1])
		if r[0] < replayBatch {
			return total, nil
		}
	}
}

const replayBatch = 500

// Get returns the job, or ErrNotFound (which also matches model.ErrNotFound).
func (q *Queue) Get(ctx context.Context, vendor, id string) (*Job, error) {
	if err := validVendor(vendor); err != nil {
		return nil, err
	}
	res, err := getScript.Run(ctx, q.rdb, []string{q.jobKey(vendor, id), q.holdKey(vendor)}, q.offsetMs()).Slice()
	if err != nil {
		return nil, fmt.Errorf("queue: get %s: %w", id, err)
	}
	if len(res) < 2 {
		return nil, fmt.Errorf("queue: get %s: %w", id, ErrNotFound)
	}
	f, _ := res[1].([]any)
	j := jobFromFields(vendor, f)
	if end := toInt(res[0]); end > 0 && j.State == StatePending {
		t := fromMs(end)
		j.HeldUntil = &t
	}
	return j, nil
}

// Dead lists the vendor's dead jobs, most recent death first, skipping offset
// and returning at most limit (limit <= 0 means 100).
func (q *Queue) Dead(ctx context.Context, vendor string, offset, limit int) ([]*Job, error) {
	if err := validVendor(vendor); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 100
	}
	if offset < 0 {
		offset = 0
	}
	ids, err := q.rdb.ZRevRange(ctx, q.deadKey(vendor), int64(offset), int64(offset+limit-1)).Result()
	if err != nil {
		return nil, fmt.Errorf("queue: dead %s: %w", vendor, err)
	}
	pipe := q.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, q.jobKey(vendor, id), jobFields...)
	}
	if len(ids) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return nil, fmt.Errorf("queue: dead %s: %w", vendor, err)
		}
	}
	out := make([]*Job, 0, len(ids))
	for _, c := range cmds {
		f := c.Val()
		if f[0] == nil { // replayed or removed meanwhile
			continue
		}
		out = append(out, jobFromFields(vendor, f))
	}
	return out, nil
}

// Stats returns the vendor's queue figures at one instant (one script).
func (q *Queue) Stats(ctx context.Context, vendor string) (Stats, error) {
	if err := validVendor(vendor); err != nil {
		return Stats{}, err
	}
	r, err := statsScript.Run(ctx, q.rdb,
		[]string{q.dueKey(vendor), q.leaseKey(vendor), q.deadKey(vendor), q.liveKey(vendor), q.holdKey(vendor)},
		q.offsetMs()).Int64Slice()
	if err != nil {
		return Stats{}, fmt.Errorf("queue: stats %s: %w", vendor, err)
	}
	now, due, leased, dead, depth, oldest, held := r[0], r[1], r[2], r[3], r[4], r[5], r[6]
	s := Stats{Depth: depth, Due: due, Leased: leased, Dead: dead}
	if depth > 0 && oldest > 0 && now > oldest {
		s.OldestAge = time.Duration(now-oldest) * time.Millisecond
	}
	if held > 0 {
		t := fromMs(held)
		s.HeldUntil = &t
		s.Held = depth - leased
	}
	return s, nil
}

// Vendors lists every vendor that ever had a job enqueued.
func (q *Queue) Vendors(ctx context.Context) ([]string, error) {
	v, err := q.rdb.SMembers(ctx, q.vendorsKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("queue: vendors: %w", err)
	}
	return v, nil
}
