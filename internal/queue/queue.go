package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/equus/sogateway/internal/model"
	"github.com/redis/go-redis/v9"
)

// Errors returned by the queue. Compare them with errors.Is.
var (
	// ErrLeaseLost means the lease's token no longer owns the job: the lease
	// expired and the job was reclaimed (and maybe leased by another worker),
	// or the job was already acked, retried or buried. The caller must drop
	// its result; the job's new holder decides its fate.
	ErrLeaseLost = errors.New("queue: lease lost")
	// ErrNotFound means no job has that id for that vendor. It matches
	// model.ErrNotFound too.
	ErrNotFound error = notFound{}
	// ErrNotDead means Replay was asked for a job that is not dead.
	ErrNotDead = errors.New("queue: job is not dead")
)

type notFound struct{}

func (notFound) Error() string        { return "queue: job not found" }
func (notFound) Is(target error) bool { return target == model.ErrNotFound }
func (notFound) Unwrap() error        { return nil }

// State is where a job is in its life.
type State string

// The job states.
const (
	// StatePending: waiting for its next attempt time, for its group's earlier
	// jobs, or for the vendor's offline window to end.
	StatePending State = "pending"
	// StateLeased: a worker holds it until the lease expires.
	StateLeased State = "leased"
	// StateDone: acknowledged; kept for Options.Retention so that a repeated
	// Enqueue of its id stays a no-op.
	StateDone State = "done"
	// StateDead: out of attempts or age, or buried; listed by Dead, replayable.
	StateDead State = "dead"
)

// Clock is the queue's view of time, injected for tests. Queue decisions use
// Redis TIME inside the scripts, never a replica's clock; a Clock shifts that
// time by an offset: Offset() when the Clock has such a method (OffsetClock
// does), else Now() minus the local time. A nil Clock means offset zero.
type Clock interface{ Now() time.Time }

// OffsetClock is a Clock that runs at real speed, shifted by an offset that
// tests advance; the queue adds the same offset to Redis TIME. The zero value
// is the real time.
type OffsetClock struct {
	mu  sync.Mutex
	off time.Duration
}

var _ Clock = (*OffsetClock)(nil)

// Now returns the local time plus the offset.
func (c *OffsetClock) Now() time.Time { return time.Now().Add(c.Offset()) }

// Offset returns the current offset.
func (c *OffsetClock) Offset() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.off
}

// Advance moves the clock forward by d.
func (c *OffsetClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// Options configures a Queue. A nil *Options is the zero value, and every zero
// field takes its default.
type Options struct {
	// Prefix starts every key. Default "sog".
	Prefix string
	// LeaseFor is how long a claimed job stays with its worker before the
	// reaper (or any Claim) gives it to another. Default 30s.
	LeaseFor time.Duration
	// MaxAttempts is the attempt budget of a job whose Job.MaxAttempts is 0.
	// Default 12.
	MaxAttempts int
	// MaxAge is how long after its (re)queueing a job may still be retried
	// with a spent attempt; after that Retry buries it. Default 72h.
	MaxAge time.Duration
	// Retention is how long an acknowledged job's hash is kept, so a repeated
	// Enqueue of its id is still a no-op and Get still answers. Default 168h.
	Retention time.Duration
	// Clock shifts the scripts' Redis TIME for tests. Default: no shift.
	Clock Clock
	// Logger receives reclaims and burials (never payloads). Default: slog.Default().
	Logger *slog.Logger
}

// Queue is a Redis delay queue shared by every gateway replica. It is safe for
// concurrent use.
type Queue struct {
	rdb       redis.UniversalClient
	prefix    string
	leaseFor  time.Duration
	maxTries  int
	maxAge    time.Duration
	retention time.Duration
	clock     Clock
	log       *slog.Logger
	known     sync.Map // vendors this Queue has registered in vendorsKey
}

// New returns a Queue on rdb. A nil opt means the defaults.
func New(rdb redis.UniversalClient, opt *Options) *Queue {
	var o Options
	if opt != nil {
		o = *opt
	}
	if o.Prefix == "" {
		o.Prefix = "sog"
	}
	if o.LeaseFor <= 0 {
		o.LeaseFor = 30 * time.Second
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 12
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 72 * time.Hour
	}
	if o.Retention <= 0 {
		o.Retention = 168 * time.Hour
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Queue{rdb: rdb, prefix: o.Prefix, leaseFor: o.LeaseFor, maxTries: o.MaxAttempts,
		maxAge: o.MaxAge, retention: o.Retention, clock: o.Clock, log: o.Logger}
}

// Job is one delivery waiting in, or passing through, the queue.
type Job struct {
	// ID is the stable delivery id, unique per vendor; 1 to 256 bytes.
	ID string
	// Vendor names the queue the job is in; [a-z0-9_-]{1,64}.
	Vendor string
	// Group is the ordering group (the order id): jobs of one group are
	// claimed strictly in enqueue order, one at a time. Empty: no ordering.
	Group string
	// Payload is opaque to the queue.
	Payload []byte
	// Attempts counts the claims spent (a Retry with spendAttempt false
	// gives its claim back). MaxAttempts 0 means Options.MaxAttempts.
	Attempts, MaxAttempts int
	// State is set by the queue; Enqueue ignores it.
	State State
	// CreatedAt is the Redis time of the first Enqueue; NextAt is when the job
	// is next due (set by the queue).
	CreatedAt, NextAt time.Time
	// HeldUntil is the end of the vendor's offline window when the job is
	// pending and the window covers now (read-only).
	HeldUntil *time.Time
	// LastError is the last failure the worker reported, or the queue's own
	// note ("lease expired").
	LastError string
	// Meta is small caller data kept with the job (e.g. order id, event id).
	Meta map[string]string
}

// Lease is a claimed job. Its Token fences Ack, Retry, Bury and Extend.
type Lease struct {
	Job   *Job
	Token string
	// Until is when the lease expires (Redis time plus the clock offset).
	Until time.Time
}

// Stats describes one vendor's queue at one instant.
type Stats struct {
	// Depth is the jobs neither done nor dead: pending, waiting behind their
	// group, or leased.
	Depth int64
	// Due is the jobs whose next attempt time has passed (ignoring a hold).
	Due int64
	// Leased is the jobs held by workers now.
	Leased int64
	// Held is the jobs waiting for the vendor's offline window to end
	// (Depth minus Leased while a window is open, else 0).
	Held int64
	// Dead is the jobs in the dead set.
	Dead int64
	// OldestAge is the age of the oldest job in Depth (0 when empty).
	OldestAge time.Duration
	// HeldUntil is the end of the open offline window, if any.
	HeldUntil *time.Time
}

// offsetMs is the clock offset the scripts add to Redis TIME.
func (q *Queue) offsetMs() int64 {
	switch c := q.clock.(type) {
	case nil:
		return 0
	case interface{ Offset() time.Duration }:
		return c.Offset().Milliseconds()
	default:
		return time.Until(c.Now()).Milliseconds()
	}
}

func validVendor(v string) error {
	if len(v) == 0 || len(v) > 64 {
		return fmt.Errorf("queue: vendor must be 1 to 64 characters, got %q: %w", v, model.ErrInvalid)
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("queue: vendor must match [a-z0-9_-]{1,64}, got %q: %w", v, model.ErrInvalid)
		}
	}
	return nil
}

func validID(id string) error {
	if len(id) == 0 || len(id) > 256 {
		return fmt.Errorf("queue: job id must be 1 to 256 bytes, got %d: %w", len(id), model.ErrInvalid)
	}
	return nil
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMs(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

func newToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Enqueue adds j to its vendor's queue, due at at (the zero time or a past
// time means now). It is idempotent on (Vendor, ID): when a job with that id
// exists, in any state, or was acknowledged within Options.Retention, it does
// nothing and returns nil. Enqueue sets j.State, j.CreatedAt and j.NextAt
// only when it added the job.
func (q *Queue) Enqueue(ctx context.Context, j *Job, at time.Time) error {
	if err := validVendor(j.Vendor); err != nil {
		return err
	}
	if err := validID(j.ID); err != nil {
		return err
	}
	if len(j.Group) > 256 {
		return fmt.Errorf("queue: group must be at most 256 bytes, got %d: %w", len(j.Group), model.ErrInvalid)
	}
	maxTries := j.MaxAttempts
	if maxTries <= 0 {
		maxTries = q.maxTries
	}
	meta := ""
	if len(j.Meta) > 0 {
		b, err := json.Marshal(j.Meta)
		if err != nil {
			return fmt.Errorf("queue: encode meta: %w", err)
		}
		meta = string(b)
	}
	// The vendor registry is outside the vendor's slot, so it is written
	// before the script, once per vendor and Queue; a registered vendor
	// without jobs is harmless.
	if _, ok := q.known.Load(j.Vendor); !ok {
		if err := q.rdb.SAdd(ctx, q.vendorsKey(), j.Vendor).Err(); err != nil {
			return fmt.Errorf("queue: register vendor: %w", err)
		}
		q.known.Store(j.Vendor, true)
	}
	v := j.Vendor
	res, err := enqueueScript.Run(ctx, q.rdb,
		[]string{q.jobKey(v, j.ID), q.dueKey(v), q.liveKey(v), q.wakeKey(v), q.groupKey(v, j.Group)},
		q.offsetMs(), j.ID, v, j.Group, j.Payload, maxTries, ms(at), meta).Int64Slice()
	if err != nil {
		return fmt.Errorf("queue: enqueue %s: %w", j.ID, err)
	}
	if res[0] == 1 {
		j.State, j.Attempts, j.MaxAttempts = StatePending, 0, maxTries
		j.CreatedAt, j.NextAt = fromMs(res[1]), fromMs(res[2])
	}
	return nil
}

// Claim leases up to max (at most 1000) jobs of vendor that are due now, each the head of
// its group, unless the vendor is held by an offline window (then it returns
// none). Before claiming it gives back the vendor's expired leases, so a
// crashed worker's jobs return even when no reaper runs. Each claim spends one
// attempt; a job whose attempts were already spent when its lease expired is
// buried instead of handed out again.
func (q *Queue) Claim(ctx context.Context, vendor string, max int) ([]*Lease, error) {
	if err := validVendor(vendor); err != nil {
		return nil, err
	}
	if max <= 0 {
		max = 1
	}
	if max > maxBatch {
		max = maxBatch
	}
	v := vendor
	res, err := claimScript.Run(ctx, q.rdb,
		[]string{q.dueKey(v), q.leaseKey(v), q.holdKey(v), q.wakeKey(v), q.deadKey(v), q.liveKey(v)},
		q.offsetMs(), max, q.leaseFor.Milliseconds(), newToken(), q.jobPrefix(v), q.groupPrefix(v)).Slice()
	if err != nil {
		return nil, fmt.Errorf("queue: claim %s: %w", vendor, err)
	}
	if n := toInt(res[1]); n > 0 {
		q.log.Warn("queue: leases expired, jobs given back", "vendor", vendor, "count", n)
	}
	out := make([]*Lease, 0, len(res)-2)
	for _, r := range res[2:] {
		f, _ := r.([]any)
		j := jobFromFields(vendor, f)
		out = append(out, &Lease{Job: j, Token: str(f[len(f)-2]), Until: fromMs(toInt(f[len(f)-1]))})
	}
	return out, nil
}

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

// jobFields are the hash fields read back into a Job, in this order.
var jobFields = []string{"id", "group", "payload", "attempts", "max", "state", "created", "next", "lerr", "meta"}

func jobFromFields(vendor string, f []any) *Job {
	j := &Job{Vendor: vendor, ID: str(f[0]), Group: str(f[1]), Payload: []byte(str(f[2])),
		Attempts: int(toInt(f[3])), MaxAttempts: int(toInt(f[4])), State: State(str(f[5])),
		CreatedAt: fromMs(toInt(f[6])), NextAt: fromMs(toInt(f[7])), LastError: str(f[8])}
	if m := str(f[9]); m != "" {
		_ = json.Unmarshal([]byte(m), &j.Meta)
	}
	return j
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	}
	return ""
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}
