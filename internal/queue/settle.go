package queue

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/equus/sogateway/internal/model"
)

// maxBatch bounds one Claim or AckAll script (Lua unpacks its lists).
const maxBatch = 1000

// Ack marks the leased job done and lets the next job of its group become
// due. It returns ErrLeaseLost when the token no longer owns the job.
func (q *Queue) Ack(ctx context.Context, l *Lease) error { return q.AckAll(ctx, []*Lease{l}) }

// AckAll acks a batch of leases with one script per vendor (and per 1000
// leases). Every lease whose
// token still owns its job is acked; when some were lost, the error wraps
// ErrLeaseLost and names them.
func (q *Queue) AckAll(ctx context.Context, ls []*Lease) error {
	byVendor := map[string][]*Lease{}
	for _, l := range ls {
		byVendor[l.Job.Vendor] = append(byVendor[l.Job.Vendor], l)
	}
	var lost []string
	for v, ls := range byVendor {
		for len(ls) > 0 {
			n := min(len(ls), maxBatch)
			l, err := q.ackChunk(ctx, v, ls[:n])
			if err != nil {
				return err
			}
			lost, ls = append(lost, l...), ls[n:]
		}
	}
	switch {
	case len(lost) == 1:
		return fmt.Errorf("queue: ack %s: %w", lost[0], ErrLeaseLost)
	case len(lost) > 1:
		return fmt.Errorf("queue: ack %s: %w", strings.Join(lost, ", "), ErrLeaseLost)
	}
	return nil
}

// ackChunk acks up to maxBatch leases of vendor v in one script and returns
// the ids whose lease was lost.
func (q *Queue) ackChunk(ctx context.Context, v string, ls []*Lease) ([]string, error) {
	keys := make([]string, 4, 4+len(ls))
	keys[0], keys[1], keys[2], keys[3] = q.leaseKey(v), q.dueKey(v), q.liveKey(v), q.wakeKey(v)
	args := make([]any, 4, 4+2*len(ls))
	args[0], args[1], args[2], args[3] = q.offsetMs(), q.retention.Milliseconds(), q.jobPrefix(v), q.groupPrefix(v)
	for _, l := range ls {
		keys = append(keys, q.jobKey(v, l.Job.ID))
		args = append(args, l.Job.ID, l.Token)
	}
	res, err := ackScript.Run(ctx, q.rdb, keys, args...).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("queue: ack %d jobs of %s: %w", len(ls), v, err)
	}
	var lost []string
	for i, l := range ls {
		if res[i] == 1 {
			l.Job.State = StateDone
		} else {
			lost = append(lost, l.Job.ID)
		}
	}
	return lost, nil
}

// Retry gives the leased job back, due at at (the zero time or a past time
// means now), recording lastErr. With spendAttempt false the claim's attempt
// is given back and the job never dies of it (use it for offline vendors:
// holding spends no attempts). With spendAttempt true a job that has used its
// attempts, or is older than Options.MaxAge, is buried instead; Retry then
// returns StateDead. The job stays at the head of its group, so later jobs of
// the group wait for it. It returns ErrLeaseLost when the token no longer
// owns the job.
func (q *Queue) Retry(ctx context.Context, l *Lease, at time.Time, lastErr string, spendAttempt bool) (State, error) {
	v, id := l.Job.Vendor, l.Job.ID
	spend := 0
	if spendAttempt {
		spend = 1
	}
	res, err := retryScript.Run(ctx, q.rdb,
		[]string{q.jobKey(v, id), q.leaseKey(v), q.dueKey(v), q.liveKey(v), q.wakeKey(v), q.deadKey(v)},
		q.offsetMs(), id, l.Token, ms(at), lastErr, spend, q.maxAge.Milliseconds(),
		q.jobPrefix(v), q.groupPrefix(v)).Int64Slice()
	if err != nil {
		return "", fmt.Errorf("queue: retry %s: %w", id, err)
	}
	switch res[0] {
	case 0:
		return "", fmt.Errorf("queue: retry %s: %w", id, ErrLeaseLost)
	case 2:
		q.log.Warn("queue: job out of attempts or age, buried", "vendor", v, "id", id, "attempts", res[2])
		l.Job.State, l.Job.LastError, l.Job.Attempts = StateDead, lastErr, int(res[2])
		return StateDead, nil
	}
	l.Job.State, l.Job.LastError, l.Job.NextAt, l.Job.Attempts = StatePending, lastErr, fromMs(res[1]), int(res[2])
	return StatePending, nil
}

// Bury moves the leased job to the dead set with lastErr and lets the next
// job of its group become due. It returns ErrLeaseLost when the token no
// longer owns the job.
func (q *Queue) Bury(ctx context.Context, l *Lease, lastErr string) error {
	v, id := l.Job.Vendor, l.Job.ID
	n, err := buryScript.Run(ctx, q.rdb,
		[]string{q.jobKey(v, id), q.leaseKey(v), q.dueKey(v), q.deadKey(v), q.liveKey(v), q.wakeKey(v)},
		q.offsetMs(), id, l.Token, lastErr, q.jobPrefix(v), q.groupPrefix(v)).Int()
	if err != nil {
		return fmt.Errorf("queue: bury %s: %w", id, err)
	}
	if n == 0 {
		return fmt.Errorf("queue: bury %s: %w", id, ErrLeaseLost)
	}
	l.Job.State, l.Job.LastError = StateDead, lastErr
	return nil
}

// Extend renews the lease for another Options.LeaseFor from now (Redis time),
// for a delivery that runs long. It returns ErrLeaseLost when the token no
// longer owns the job.
func (q *Queue) Extend(ctx context.Context, l *Lease) error {
	v, id := l.Job.Vendor, l.Job.ID
	until, err := extendScript.Run(ctx, q.rdb, []string{q.jobKey(v, id), q.leaseKey(v)},
		q.offsetMs(), id, l.Token, q.leaseFor.Milliseconds()).Int64()
	if err != nil {
		return fmt.Errorf("queue: extend %s: %w", id, err)
	}
	if until == 0 {
		return fmt.Errorf("queue: extend %s: %w", id, ErrLeaseLost)
	}
	l.Until = fromMs(until)
	return nil
}

// Hold opens (or moves) the vendor's offline window from now until until:
// nothing of that vendor is claimed before until, and nothing spends an
// attempt meanwhile. Holding again replaces the window, so a shortened window
// releases at its new end; a past until releases at once.
func (q *Queue) Hold(ctx context.Context, vendor string, until time.Time) error {
	return q.HoldWindow(ctx, vendor, time.Time{}, until)
}

// HoldWindow is Hold for a window that may start later: claims stop at start
// (the zero time means now) and resume at end.
func (q *Queue) HoldWindow(ctx context.Context, vendor string, start, end time.Time) error {
	if err := validVendor(vendor); err != nil {
		return err
	}
	if !start.IsZero() && !end.After(start) {
		return fmt.Errorf("queue: hold %s: end %s is not after start %s: %w", vendor,
			end.Format(time.RFC3339), start.Format(time.RFC3339), model.ErrInvalid)
	}
	if err := holdScript.Run(ctx, q.rdb, []string{q.holdKey(vendor), q.wakeKey(vendor)},
		q.offsetMs(), ms(start), ms(end)).Err(); err != nil {
		return fmt.Errorf("queue: hold %s: %w", vendor, err)
	}
	return nil
}

// Release cancels the vendor's offline window: its due jobs may be claimed at
// once, and waiting workers are woken.
func (q *Queue) Release(ctx context.Context, vendor string) error {
	if err := validVendor(vendor); err != nil {
		return err
	}
	if err := releaseScript.Run(ctx, q.rdb, []string{q.holdKey(vendor), q.wakeKey(vendor)}).Err(); err != nil {
		return fmt.Errorf("queue: release %s: %w", vendor, err)
	}
	return nil
}

// HoldOf returns the end of the vendor's offline window when one covers now,
// else nil.
func (q *Queue) HoldOf(ctx context.Context, vendor string) (*time.Time, error) {
	if err := validVendor(vendor); err != nil {
		return nil, err
	}
	end, err := holdOfScript.Run(ctx, q.rdb, []string{q.holdKey(vendor)}, q.offsetMs()).Int64()
	if err != nil {
		return nil, fmt.Errorf("queue: hold of %s: %w", vendor, err)
	}
	if end == 0 {
		return nil, nil
	}
	t := fromMs(end)
	return &t, nil
}
