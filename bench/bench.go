// Package bench measures the gateway's delay queue against asynq on one
// redis-server: how fast a window's worth of held deliveries drains into a
// local sink once the window ends, and how long the first delivery takes
// after the end. `go run ./bench/queue -redis HOST:PORT` prints the figures;
// `go test -bench . ./bench/` starts its own redis-server. It also measures
// the gateway's EMG Update path against BareEMG, a handler doing only the
// unavoidable work of an EMG receiver (see BenchmarkEMGUpdateVsBare).
package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/equus/sogateway/internal/queue"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Config sizes one run.
type Config struct {
	// Jobs is how many deliveries are held and then released. Default 10000.
	Jobs int
	// Groups is how many orders they belong to (the queue keeps each order's
	// deliveries in sequence). Default Jobs/4.
	Groups int
	// Workers is the number of worker goroutines of the gateway queue, and
	// Batch how many jobs each claims at once. Defaults 4 and 100.
	Workers, Batch int
	// AsynqConcurrency is asynq's handler goroutines. Default 64.
	AsynqConcurrency int
}

func (c *Config) defaults() {
	if c.Jobs <= 0 {
		c.Jobs = 10000
	}
	if c.Groups <= 0 {
		c.Groups = max(1, c.Jobs/4)
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.Batch <= 0 {
		c.Batch = 100
	}
	if c.AsynqConcurrency <= 0 {
		c.AsynqConcurrency = 64
	}
}

// Result is one system's figures.
type Result struct {
	System string
	Jobs   int
	// Enqueue is how long putting the jobs in took.
	Enqueue time.Duration
	// First is the time from the window's end to the first delivery.
	First time.Duration
	// Drain is the time from the window's end to the last delivery.
	Drain time.Duration
	// Duplicates counts deliveries beyond the first of a job.
	Duplicates int
}

// Rate is deliveries per second from the window's end to the last delivery.
func (r Result) Rate() float64 { return float64(r.Jobs) / r.Drain.Seconds() }

func (r Result) String() string {
	return fmt.Sprintf("%-9s jobs=%d enqueue=%s first=%s drain=%s rate=%.0f/s duplicates=%d",
		r.System, r.Jobs, r.Enqueue.Round(time.Millisecond), r.First.Round(time.Millisecond),
		r.Drain.Round(time.Millisecond), r.Rate(), r.Duplicates)
}

// sink is the local receiver: it counts deliveries per id and notes the
// first and last delivery times.
type sink struct {
	mu          sync.Mutex
	seen        map[string]int
	n, dup      int
	want        int
	first, last time.Time
	done        chan struct{}
	started     atomic.Bool
}

func newSink(want int) *sink {
	return &sink{seen: make(map[string]int, want), want: want, done: make(chan struct{})}
}

func (s *sink) deliver(id string) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.first.IsZero() {
		s.first = now
	}
	s.seen[id]++
	if s.seen[id] > 1 {
		s.dup++
		return
	}
	s.n++
	if s.n == s.want {
		s.last = now
		close(s.done)
	}
}

func suffix() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// RunQueue holds cfg.Jobs deliveries behind a vendor's offline window, ends
// the window, and measures how they drain. It uses its own key prefix and
// deletes its keys afterwards.
func RunQueue(ctx context.Context, rdb redis.UniversalClient, cfg Config) (Result, error) {
	cfg.defaults()
	prefix := "sogbench-" + suffix()
	defer deleteKeys(context.Background(), rdb, prefix+":*")
	q := queue.New(rdb, &queue.Options{Prefix: prefix, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	const vendor = "bench"
	if err := q.Hold(ctx, vendor, time.Now().Add(time.Hour)); err != nil {
		return Result{}, err
	}
	res := Result{System: "sogateway", Jobs: cfg.Jobs}
	start := time.Now()
	if err := parallel(8, cfg.Jobs, func(i int) error {
		return q.Enqueue(ctx, &queue.Job{ID: fmt.Sprint("del-", i), Vendor: vendor,
			Group: fmt.Sprint("order-", i%cfg.Groups), Payload: []byte(`{"event":"order.submitted"}`)}, time.Time{})
	}); err != nil {
		return res, err
	}
	res.Enqueue = time.Since(start)

	s := newSink(cfg.Jobs)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = q.Run(wctx, vendor, cfg.Batch, func(ctx context.Context, ls []*queue.Lease) {
				for _, l := range ls {
					s.deliver(l.Job.ID)
				}
				_ = q.AckAll(ctx, ls)
			})
		}()
	}
	time.Sleep(100 * time.Millisecond) // the workers are asleep on the window
	end := time.Now().Add(200 * time.Millisecond)
	if err := q.Hold(ctx, vendor, end); err != nil {
		return res, err
	}
	select {
	case <-s.done:
	case <-ctx.Done():
		return res, ctx.Err()
	}
	cancel()
	wg.Wait()
	res.First, res.Drain, res.Duplicates = s.first.Sub(end), s.last.Sub(end), s.dup
	return res, nil
}

// RunAsynq schedules cfg.Jobs asynq tasks for one instant (ProcessAt, asynq's
// delayed tasks) and measures how they drain. asynq is given its best
// settings: a 100ms forwarder interval (default 5s) and a 10ms task check
// interval (default 1s). It uses its own queue name and deletes it afterwards.
func RunAsynq(ctx context.Context, addr string, cfg Config, margin time.Duration) (Result, error) {
	cfg.defaults()
	qname := "sogbench-" + suffix()
	opt := asynq.RedisClientOpt{Addr: addr}
	client := asynq.NewClient(opt)
	defer client.Close()
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	defer func() { _ = insp.DeleteQueue(qname, true) }()
	res := Result{System: "asynq", Jobs: cfg.Jobs}
	// asynq keeps ProcessAt in whole seconds, so the window ends on one.
	end := time.Now().Add(margin).Truncate(time.Second).Add(time.Second)
	start := time.Now()
	if err := parallel(8, cfg.Jobs, func(i int) error {
		_, err := client.EnqueueContext(ctx, asynq.NewTask("delivery", []byte(`{"event":"order.submitted"}`)),
			asynq.Queue(qname), asynq.TaskID(fmt.Sprint("del-", i)), asynq.ProcessAt(end), asynq.MaxRetry(12))
		return err
	}); err != nil {
		return res, err
	}
	res.Enqueue = time.Since(start)
	if time.Now().After(end) {
		return res, fmt.Errorf("bench: asynq enqueue took %s, past the window end; raise the margin", res.Enqueue)
	}
	s := newSink(cfg.Jobs)
	srv := asynq.NewServer(opt, asynq.Config{Concurrency: cfg.AsynqConcurrency, Queues: map[string]int{qname: 1},
		DelayedTaskCheckInterval: 100 * time.Millisecond, TaskCheckInterval: 10 * time.Millisecond,
		LogLevel: asynq.FatalLevel})
	if err := srv.Start(asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		id, _ := asynq.GetTaskID(ctx)
		s.deliver(id)
		return nil
	})); err != nil {
		return res, err
	}
	defer srv.Shutdown()
	select {
	case <-s.done:
	case <-ctx.Done():
		return res, ctx.Err()
	}
	res.First, res.Drain, res.Duplicates = s.first.Sub(end), s.last.Sub(end), s.dup
	return res, nil
}

// parallel runs fn(0..n-1) on w goroutines and returns the first error.
func parallel(w, n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, w)
	for g := 0; g < w; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += w {
				if err := fn(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

func deleteKeys(ctx context.Context, rdb redis.UniversalClient, pattern string) {
	iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}

// Compare runs both systems on one server, the gateway's queue first, and
// returns their results.
func Compare(ctx context.Context, rdb redis.UniversalClient, addr string, cfg Config) (ours, theirs Result, err error) {
	ours, err = RunQueue(ctx, rdb, cfg)
	if err != nil {
		return ours, theirs, fmt.Errorf("bench: sogateway: %w", err)
	}
	theirs, err = RunAsynq(ctx, addr, cfg, 2*ours.Enqueue+2*time.Second)
	if err != nil {
		return ours, theirs, fmt.Errorf("bench: asynq: %w", err)
	}
	return ours, theirs, nil
}
