package dispatch

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/adapters"
	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/queue"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// releaseWorkers is how many deliveries the released child keeps in flight.
const releaseWorkers = 4

// TestChildReleaseGateway is the gateway process that
// TestKilledDuringReleaseDuplicatesOnlyInFlight kills: it runs the vendor's
// senders as serve does.
func TestChildReleaseGateway(t *testing.T) {
	if os.Getenv("DISPATCH_RELEASE_REDIS") == "" {
		t.Skip("run by TestKilledDuringReleaseDuplicatesOnlyInFlight")
	}
	svc := childService(os.Getenv("DISPATCH_RELEASE_REDIS"), os.Getenv("DISPATCH_RELEASE_VENDOR"),
		configs.DispatchConfig{Workers: releaseWorkers, ClaimBatch: 16})
	_ = svc.Run(context.Background()) // until SIGKILL
}

// childService is the dispatch service of a child gateway process that a
// kill test starts: real Redis at addr, acme-movers at vendorURL.
func childService(addr, vendorURL string, d configs.DispatchConfig) *Service {
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	q := queue.New(rdb, &queue.Options{Logger: quiet()})
	return New(store.New(rdb, nil), q, fakeRenderer{}, &Options{
		Vendors:  map[string]configs.VendorConfig{"acme-movers": acmeConfig(vendorURL)},
		Dispatch: d,
		AdapterEnv: &adapters.Env{LookupEnv: func(k string) (string, bool) {
			return "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", true
		}},
		Logger: quiet(),
	})
}

// TestKilledDuringReleaseDuplicatesOnlyInFlight holds 1,000 deliveries in an
// offline window, releases them to a gateway process running its senders,
// kills it with SIGKILL a third of the way through, and lets a second
// gateway finish: every delivery arrives, and only those in flight at the
// kill (at most the workers) arrive twice, each time with the same id.
func TestKilledDuringReleaseDuplicatesOnlyInFlight(t *testing.T) {
	srv := testutil.StartRedis(t)
	f := newFixture(t, srv.Client(), nil)
	const total = 1000
	_, err := f.svc.PutWindow(f.ctx, "acme-movers", time.Time{}, f.clk.Now().Add(time.Hour))
	testutil.Must(t, err)
	ids := make([]string, total)
	errs := make([]error, total)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = func() error {
				id := fmt.Sprintf("r%04d", i)
				now := f.clk.Now().UTC()
				o := &model.Order{ID: id, Partner: "acme-movers", Company: "globex", ServiceType: "household_goods_move",
					Refs: model.Refs{Requestor: "REQ-" + id}, Status: model.StatusNew, CreatedAt: now, UpdatedAt: now,
					Fields: map[string]model.Field{"move_date": {Value: "2026-12-01", Owner: model.OwnerPlatform}}}
				if err := f.st.CreateOrder(f.ctx, o, &model.Event{ID: "ev-" + id, Type: model.EventOrderCreated, Protocol: model.ProtocolPlatform, At: now}); err != nil {
					return err
				}
				res, err := f.svc.Send(f.ctx, id, SendOptions{})
				if err == nil {
					ids[i] = res.Deliveries[0].ID
				}
				return err
			}()
		}()
	}
	wg.Wait()
	for _, err := range errs {
		testutil.Must(t, err)
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	third := make(chan struct{})
	f.vendor.before = func(n int, r *http.Request) {
		time.Sleep(2 * time.Millisecond) // a vendor that takes a moment
		if n == total/3 {
			close(third)
		}
	}

	child := exec.Command(os.Args[0], "-test.run", "^TestChildReleaseGateway$")
	child.Env = append(os.Environ(), "DISPATCH_RELEASE_REDIS="+srv.Addr(), "DISPATCH_RELEASE_VENDOR="+f.vendor.URL)
	testutil.Must(t, child.Start())
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	testutil.Must(t, f.svc.DeleteWindow(f.ctx, "acme-movers")) // the release
	select {
	case <-third:
	case <-time.After(60 * time.Second):
		t.Fatal("the child never got a third of the way")
	}
	testutil.Must(t, child.Process.Kill()) // SIGKILL mid-release
	_ = child.Wait()

	f.clk.Advance(31 * time.Second) // past the dead child's leases
	f.deliverDue(t)
	counts := map[string]int{}
	for _, r := range f.vendor.received() {
		counts[r.id]++
	}
	dups := 0
	for id := range want {
		switch c := counts[id]; {
		case c == 0:
			t.Errorf("delivery %s lost", id)
		case c > 2:
			t.Errorf("delivery %s arrived %d times", id, c)
		default:
			dups += c - 1
		}
	}
	if len(counts) != total {
		t.Errorf("vendor saw %d distinct delivery ids, want %d", len(counts), total)
	}
	if dups > releaseWorkers {
		t.Fatalf("%d deliveries arrived twice after the kill, want at most %d (the deliveries in flight)", dups, releaseWorkers)
	}
	t.Logf("killed after %d+ of %d deliveries: %d duplicates (bound %d), none lost", total/3, total, dups, releaseWorkers)
}
