package queue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Notify wakes every worker waiting on vendor (Wait). The queue's own moves
// notify already; Notify is for callers that changed something the queue
// cannot see.
func (q *Queue) Notify(ctx context.Context, vendor string) error {
	if err := validVendor(vendor); err != nil {
		return err
	}
	if err := q.rdb.XAdd(ctx, &redis.XAddArgs{Stream: q.wakeKey(vendor), MaxLen: 1, Values: []any{"w", "1"}}).Err(); err != nil {
		return fmt.Errorf("queue: notify %s: %w", vendor, err)
	}
	return nil
}

// Wait blocks until work of vendor may be claimable: a job's due time (or the
// end of the vendor's offline window) arrives, a lease expires, a move
// notifies the vendor, max passes, or ctx ends (then it returns ctx's error).
// It returns at once when a job is due now. Wakes may be spurious; call Claim
// after it returns. It never polls: it blocks on the vendor's wake stream
// with a timeout computed from Redis TIME.
func (q *Queue) Wait(ctx context.Context, vendor string, max time.Duration) error {
	if err := validVendor(vendor); err != nil {
		return err
	}
	if max <= 0 {
		max = 5 * time.Second
	}
	res, err := nextScript.Run(ctx, q.rdb,
		[]string{q.dueKey(vendor), q.leaseKey(vendor), q.holdKey(vendor), q.wakeKey(vendor)}, q.offsetMs()).Slice()
	if err != nil {
		return fmt.Errorf("queue: wait %s: %w", vendor, err)
	}
	wait, last := toInt(res[0]), str(res[1])
	if wait == 0 {
		return ctx.Err()
	}
	block := max
	if wait > 0 && time.Duration(wait)*time.Millisecond < block {
		block = time.Duration(wait) * time.Millisecond
	}
	if block < time.Millisecond {
		block = time.Millisecond
	}
	byCtx := false
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < block {
		block, byCtx = max0(time.Until(dl), time.Millisecond), true
	}
	// go-redis does not cut a blocking read short when ctx is cancelled, so
	// the read runs on its own and Wait returns as soon as ctx ends; the
	// connection goes back to the pool when the block times out.
	done := make(chan error, 1)
	go func() {
		done <- q.rdb.XRead(context.WithoutCancel(ctx),
			&redis.XReadArgs{Streams: []string{q.wakeKey(vendor), last}, Count: 1, Block: block}).Err()
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	switch {
	case errors.Is(err, redis.Nil) && byCtx:
		<-ctx.Done() // the block ended with ctx's deadline, a hair early
	case err != nil && !errors.Is(err, redis.Nil) && ctx.Err() == nil:
		return fmt.Errorf("queue: wait %s: %w", vendor, err)
	}
	return ctx.Err()
}

func max0(d, min time.Duration) time.Duration {
	if d < min {
		return min
	}
	return d
}

// Run claims up to batch jobs of vendor at a time and hands each non-empty
// batch to handle, waiting (Wait) while there is nothing to claim, until ctx
// ends; it then returns nil. handle must Ack, Retry or Bury every lease (a
// lease it drops comes back after Options.LeaseFor). A Redis error is logged
// and retried after a second.
func (q *Queue) Run(ctx context.Context, vendor string, batch int, handle func(context.Context, []*Lease)) error {
	for ctx.Err() == nil {
		ls, err := q.Claim(ctx, vendor, batch)
		if err == nil && len(ls) > 0 {
			handle(ctx, ls)
			continue
		}
		if err == nil {
			err = q.Wait(ctx, vendor, 5*time.Second)
		}
		if err != nil && ctx.Err() == nil {
			q.log.Error("queue: worker", "vendor", vendor, "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	return nil
}
