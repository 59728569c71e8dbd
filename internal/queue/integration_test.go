package queue

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/clock"

	"github.com/equus/sogateway/internal/testutil"
	"github.com/redis/go-redis/v9"
)

// delivered records what workers were handed, for the integration tests.
type delivered struct {
	mu       sync.Mutex
	at       map[string]time.Time
	count    map[string]int
	order    map[string][]string
	inFlight map[string]bool
	overlap  []string
	n        int
	want     int
	done     chan struct{}
}

func newDelivered(want int) *delivered {
	return &delivered{at: map[string]time.Time{}, count: map[string]int{}, order: map[string][]string{},
		inFlight: map[string]bool{}, want: want, done: make(chan struct{})}
}

// start marks l in flight; it notes an overlap when another worker holds it.
func (d *delivered) start(l *Lease) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.inFlight[l.Job.ID] {
		d.overlap = append(d.overlap, l.Job.ID)
	}
	d.inFlight[l.Job.ID] = true
}

// finish records a delivery of l.
func (d *delivered) finish(l *Lease) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.count[l.Job.ID]++
	if _, ok := d.at[l.Job.ID]; !ok {
		d.at[l.Job.ID] = time.Now()
	}
	d.order[l.Job.Group] = append(d.order[l.Job.Group], l.Job.ID)
	d.n++
	if d.n == d.want {
		close(d.done)
	}
}

// release marks ls settled (acked), so another worker may hold them.
func (d *delivered) release(ls ...*Lease) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range ls {
		delete(d.inFlight, l.Job.ID)
	}
}

// worker runs q.Run on vendor until ctx ends, delivering and acking each
// batch (odd batches one Ack at a time, even ones with one AckAll).
func (d *delivered) worker(ctx context.Context, t *testing.T, q *Queue, vendor string, batch int, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		n := 0
		_ = q.Run(ctx, vendor, batch, func(ctx context.Context, ls []*Lease) {
			n++
			for _, l := range ls {
				d.start(l)
			}
			for _, l := range ls {
				d.finish(l)
				if n%2 == 1 {
					if err := q.Ack(ctx, l); err != nil && ctx.Err() == nil {
						t.Errorf("Ack(%s) = %v", l.Job.ID, err)
					}
					d.release(l)
				}
			}
			if n%2 == 0 {
				if err := q.AckAll(ctx, ls); err != nil && ctx.Err() == nil {
					t.Errorf("AckAll(%d leases) = %v", len(ls), err)
				}
				d.release(ls...)
			}
		})
	}()
}

func (d *delivered) wait(t *testing.T) {
	t.Helper()
	select {
	case <-d.done:
	case <-time.After(2 * time.Minute):
		d.mu.Lock()
		defer d.mu.Unlock()
		t.Fatalf("delivered %d of %d jobs", d.n, d.want)
	}
}

func (d *delivered) checkOnceInOrder(t *testing.T, groups map[string][]string) {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, n := range d.count {
		if n != 1 {
			t.Errorf("job %s delivered %d times, want 1", id, n)
		}
	}
	if len(d.overlap) > 0 {
		t.Errorf("jobs held by two workers at once: %v", d.overlap)
	}
	for g, want := range groups {
		if !slices.Equal(d.order[g], want) {
			t.Errorf("group %s delivered %v, want %v", g, d.order[g], want)
		}
	}
}

// fill enqueues per jobs in each of groups groups and returns each group's ids in order.
func fill(t *testing.T, q *Queue, vendor string, groups, per int) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	ctx := context.Background()
	for i := 0; i < per; i++ {
		for g := 0; g < groups; g++ {
			grp := fmt.Sprintf("order-%d", g)
			id := fmt.Sprintf("%s-del-%d", grp, i)
			testutil.Must(t, q.Enqueue(ctx, &Job{ID: id, Vendor: vendor, Group: grp, Payload: []byte(id)}, time.Time{}))
			out[grp] = append(out[grp], id)
		}
	}
	return out
}

// TestIntegrationWindow holds a vendor through an offline window, and shows
// that running workers deliver nothing before its end and everything, in
// group order, after it: at the original end, at a shortened end, and on
// cancellation. The long windows (1h) would time the test out if the
// shortening or the cancellation did not release the jobs.
func TestIntegrationWindow(t *testing.T) {
	for _, tc := range []string{"end", "shortened", "cancelled"} {
		t.Run(tc, func(t *testing.T) {
			srv := testutil.StartRedis(t)
			q := New(srv.Client(), &Options{Logger: quiet()})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			end := time.Now().Add(700 * time.Millisecond)
			if tc != "end" {
				end = time.Now().Add(time.Hour)
			}
			testutil.Must(t, q.Hold(ctx, "acme", end))
			groups := fill(t, q, "acme", 4, 5)
			d := newDelivered(20)
			var wg sync.WaitGroup
			d.worker(ctx, t, q, "acme", 10, &wg)
			d.worker(ctx, t, New(srv.Client(), &Options{Logger: quiet()}), "acme", 10, &wg)
			switch tc {
			case "shortened":
				end = time.Now().Add(300 * time.Millisecond)
				testutil.Must(t, q.Hold(ctx, "acme", end))
			case "cancelled":
				end = time.Now()
				testutil.Must(t, q.Release(ctx, "acme"))
			}
			d.wait(t)
			cancel()
			wg.Wait()
			d.checkOnceInOrder(t, groups)
			for id, at := range d.at {
				if at.Before(end.Truncate(time.Millisecond)) {
					t.Errorf("job %s delivered at %s, before the window's end %s", id, at.Format(time.StampMilli), end.Format(time.StampMilli))
				}
			}
		})
	}
}

// TestIntegrationTwoReplicas runs two queues on separate clients (two gateway
// replicas), two workers each: no job is ever held by two workers at once,
// each is delivered once, and groups keep their order.
func TestIntegrationTwoReplicas(t *testing.T) {
	srv := testutil.StartRedis(t)
	a := New(srv.Client(), &Options{Logger: quiet()})
	b := New(srv.Client(), &Options{Logger: quiet()})
	groups := fill(t, a, "acme", 50, 12)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := newDelivered(600)
	var wg sync.WaitGroup
	for _, q := range []*Queue{a, a, b, b} {
		d.worker(ctx, t, q, "acme", 16, &wg)
	}
	d.wait(t)
	cancel()
	wg.Wait()
	d.checkOnceInOrder(t, groups)
}

// TestIntegrationTenThousandReleasedAtOnce holds 10,000 jobs behind a window
// and releases them in one instant to four workers on two replicas.
func TestIntegrationTenThousandReleasedAtOnce(t *testing.T) {
	srv := testutil.StartRedis(t)
	a := New(srv.Client(), &Options{Logger: quiet()})
	b := New(srv.Client(), &Options{Logger: quiet()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testutil.Must(t, a.Hold(ctx, "acme", time.Now().Add(time.Hour)))
	var fillWG sync.WaitGroup
	for w := 0; w < 8; w++ {
		fillWG.Add(1)
		go func() {
			defer fillWG.Done()
			for i := w; i < 10000; i += 8 {
				testutil.Must(t, a.Enqueue(ctx, &Job{ID: fmt.Sprint("d", i), Vendor: "acme", Group: fmt.Sprint("o", i%2500)}, time.Time{}))
			}
		}()
	}
	fillWG.Wait()
	s, err := a.Stats(ctx, "acme")
	testutil.Must(t, err)
	if s.Held != 10000 {
		t.Fatalf("Stats.Held = %d, want 10000", s.Held)
	}
	d := newDelivered(10000)
	var wg sync.WaitGroup
	for _, q := range []*Queue{a, a, b, b} {
		d.worker(ctx, t, q, "acme", 100, &wg)
	}
	testutil.Must(t, a.Hold(ctx, "acme", time.Now().Add(200*time.Millisecond)))
	d.wait(t)
	cancel()
	wg.Wait()
	d.checkOnceInOrder(t, nil)
	if len(d.count) != 10000 {
		t.Fatalf("distinct jobs delivered = %d, want 10000", len(d.count))
	}
}

// TestIntegrationRestartWithAOF kills redis-server (SIGKILL) mid-flight and
// restarts it from its AOF: queued, leased and held jobs all survive, the
// leases come back when they expire, and every job is delivered once.
func TestIntegrationRestartWithAOF(t *testing.T) {
	srv := testutil.StartRedis(t)
	clk := &clock.Offset{}
	q := New(srv.Client(), &Options{Now: clk.Now, Logger: quiet()})
	ctx := context.Background()
	groups := fill(t, q, "acme", 10, 50)
	testutil.Must(t, q.Hold(ctx, "globex", clk.Now().Add(time.Hour)))
	testutil.Must(t, q.Enqueue(ctx, &Job{ID: "g1", Vendor: "globex"}, time.Time{}))
	ls, err := q.Claim(ctx, "acme", 10)
	testutil.Must(t, err)
	acked := map[string]bool{}
	for _, l := range ls[:4] {
		testutil.Must(t, q.Ack(ctx, l))
		acked[l.Job.ID] = true
	}
	srv.Restart()
	s, err := q.Stats(ctx, "acme")
	testutil.Must(t, err)
	if s.Depth != 496 || s.Leased != 6 {
		t.Fatalf("Stats(acme) after restart = %+v, want Depth 496 Leased 6", s)
	}
	if h, err := q.HoldOf(ctx, "globex"); err != nil || h == nil {
		t.Fatalf("HoldOf(globex) after restart = %v, %v, want the window", h, err)
	}
	clk.Advance(31 * time.Second) // the 6 leases of the lost workers expire
	got := map[string]int{}
	order := map[string][]string{}
	for {
		ls, err := q.Claim(ctx, "acme", 50)
		testutil.Must(t, err)
		if len(ls) == 0 {
			break
		}
		for _, l := range ls {
			got[l.Job.ID]++
			order[l.Job.Group] = append(order[l.Job.Group], l.Job.ID)
			testutil.Must(t, q.Ack(ctx, l))
		}
	}
	for g, ids := range groups {
		var want []string
		for _, id := range ids {
			if !acked[id] {
				want = append(want, id)
			}
		}
		if !slices.Equal(order[g], want) {
			t.Errorf("group %s after restart delivered %v, want %v", g, order[g], want)
		}
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("job %s delivered %d times after restart, want 1", id, n)
		}
	}
	if len(got) != 496 {
		t.Errorf("jobs delivered after restart = %d, want 496", len(got))
	}
}

const childEnv = "QUEUE_TEST_CHILD_REDIS"

// TestChildClaimer is not a test on its own: TestIntegrationKilledWorker runs
// the test binary again with childEnv set, and this claims one job with a 1s
// lease, says so on stdout, and hangs until it is killed with SIGKILL.
func TestChildClaimer(t *testing.T) {
	addr := os.Getenv(childEnv)
	if addr == "" {
		t.Skip("child process of TestIntegrationKilledWorker")
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	q := New(rdb, &Options{LeaseFor: time.Second, Logger: quiet()})
	ls, err := q.Claim(context.Background(), "acme", 1)
	if err != nil || len(ls) != 1 {
		fmt.Printf("CLAIM FAILED %d %v\n", len(ls), err)
		os.Exit(3)
	}
	fmt.Printf("CLAIMED %s %s\n", ls[0].Job.ID, ls[0].Token)
	time.Sleep(time.Hour)
}

// TestIntegrationKilledWorker kills -9 a worker process that holds a job mid
// delivery; after its lease expires the job is delivered exactly once more,
// with the same id, before the next job of its order.
func TestIntegrationKilledWorker(t *testing.T) {
	srv := testutil.StartRedis(t)
	q := New(srv.Client(), &Options{LeaseFor: time.Second, Logger: quiet()})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testutil.Must(t, q.Enqueue(ctx, &Job{ID: "del-1", Vendor: "acme", Group: "order-1"}, time.Time{}))
	testutil.Must(t, q.Enqueue(ctx, &Job{ID: "del-2", Vendor: "acme", Group: "order-1"}, time.Time{}))

	child := exec.Command(os.Args[0], "-test.run", "^TestChildClaimer$", "-test.v")
	child.Env = append(os.Environ(), childEnv+"="+srv.Addr())
	out, err := child.StdoutPipe()
	testutil.Must(t, err)
	testutil.Must(t, child.Start())
	sc := bufio.NewScanner(out)
	var claimed string
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 3 && f[0] == "CLAIMED" {
			claimed = f[1]
			break
		}
	}
	if claimed != "del-1" {
		_ = child.Process.Kill()
		t.Fatalf("child claimed %q, want del-1", claimed)
	}
	testutil.Must(t, child.Process.Kill()) // SIGKILL mid-delivery
	_ = child.Wait()

	d := newDelivered(2)
	var wg sync.WaitGroup
	d.worker(ctx, t, q, "acme", 10, &wg)
	d.wait(t)
	cancel()
	wg.Wait()
	d.checkOnceInOrder(t, map[string][]string{"order-1": {"del-1", "del-2"}})
	j, err := q.Get(context.Background(), "acme", "del-1")
	testutil.Must(t, err)
	if j.State != StateDone || j.Attempts != 2 {
		t.Fatalf("Get(del-1) = %q after %d attempts, want done after 2 (the killed one and the redelivery)", j.State, j.Attempts)
	}
	if n, err := q.Reap(context.Background()); n != 0 || err != nil {
		t.Fatalf("Reap after all acked = %d, %v, want 0, nil", n, err)
	}
}
