package dispatch

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/testutil"
)

// TestChildGateway is the gateway process that TestKilledGatewayRedelivers
// kills: it claims the due deliveries and starts sending them.
func TestChildGateway(t *testing.T) {
	if os.Getenv("DISPATCH_CHILD_REDIS") == "" {
		t.Skip("run by TestKilledGatewayRedeliversOnceWithTheSameID")
	}
	svc := childService(os.Getenv("DISPATCH_CHILD_REDIS"), os.Getenv("DISPATCH_CHILD_VENDOR"), configs.DispatchConfig{})
	_, _ = svc.DeliverDue(context.Background(), "acme-movers", 0) // killed while the vendor holds the request
}

func TestKilledGatewayRedeliversOnceWithTheSameID(t *testing.T) {
	srv := testutil.StartRedis(t)
	f := newFixture(t, srv.Client(), nil)
	release, started := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() { close(release) })
	var killedID string
	f.vendor.before = func(n int, r *http.Request) {
		if n == 0 {
			killedID = r.Header.Get("webhook-id")
			close(started)
			<-release // the first request hangs until the test ends
		}
	}
	f.order(t, "o1", nil)
	d := f.send(t, "o1").Deliveries[0]

	child := exec.Command(os.Args[0], "-test.run", "^TestChildGateway$")
	child.Env = append(os.Environ(), "DISPATCH_CHILD_REDIS="+srv.Addr(), "DISPATCH_CHILD_VENDOR="+f.vendor.URL)
	testutil.Must(t, child.Start())
	select {
	case <-started:
	case <-time.After(30 * time.Second):
		t.Fatal("the child never sent its request")
	}
	testutil.Must(t, child.Process.Kill()) // SIGKILL mid-delivery
	_ = child.Wait()

	if n := f.deliverDue(t); n != 0 {
		t.Fatalf("DeliverDue while the dead child's lease holds = %d, want 0", n)
	}
	f.clk.Advance(31 * time.Second) // past the 30s lease
	if n := f.deliverDue(t); n != 1 {
		t.Fatalf("DeliverDue after the lease expired = %d, want 1", n)
	}
	if n := f.deliverDue(t); n != 0 {
		t.Fatalf("DeliverDue again = %d, want 0 (exactly one redelivery)", n)
	}
	got := f.vendor.received()
	if killedID != d.ID || len(got) != 1 || got[0].id != d.ID {
		t.Fatalf("vendor answered %+v, want one redelivery of %s with the killed try's id (%s)", got, d.ID, killedID)
	}
	if r := f.one(t, "o1"); r.Status != model.DeliverySuccess || r.Attempts != 2 {
		t.Errorf("record = %+v, want Success after 2 attempts", r)
	}
}

func TestRedisRestartWithAOFLosesNothing(t *testing.T) {
	srv := testutil.StartRedis(t)
	f := newFixture(t, srv.Client(), nil)
	_, err := f.svc.PutWindow(f.ctx, "acme-movers", time.Time{}, f.clk.Now().Add(time.Hour))
	testutil.Must(t, err)
	ids := map[string]bool{}
	for i := 0; i < 5; i++ {
		id := fmt.Sprintf("o%d", i)
		f.order(t, id, nil)
		ids[f.send(t, id).Deliveries[0].ID] = true
	}
	srv.Restart() // SIGKILL, then start on the same AOF
	w, err := f.svc.GetWindow(f.ctx, "acme-movers")
	if err != nil || !w.Active {
		t.Fatalf("GetWindow after restart = %+v, %v, want the window", w, err)
	}
	if n := f.deliverDue(t); n != 0 {
		t.Fatalf("DeliverDue in the window after restart = %d, want 0", n)
	}
	testutil.Must(t, f.svc.DeleteWindow(f.ctx, "acme-movers"))
	if n := f.deliverDue(t); n != 5 {
		t.Fatalf("DeliverDue after restart and cancel = %d, want 5", n)
	}
	for _, r := range f.vendor.received() {
		delete(ids, r.id)
	}
	if len(ids) != 0 {
		t.Errorf("deliveries lost across the restart: %v", ids)
	}
}
