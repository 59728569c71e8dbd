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
	"sync"
	"time"

	"github.com/equus/sogateway/internal/clock"

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
	// Now is the injected clock (internal/clock): queue decisions use Redis
	// TIME inside the scripts, never a replica's clock, and the scripts add
	// Now's offset from the local time (clock.OffsetOf), so tests can advance
	// it with a clock.Offset. Default nil: time.Now, no shift.
	Now func() time.Time
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
	now       func() time.Time
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
		maxAge: o.MaxAge, retention: o.Retention, now: o.Now, log: o.Logger}
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
	return clock.OffsetOf(q.now).Milliseconds()
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
