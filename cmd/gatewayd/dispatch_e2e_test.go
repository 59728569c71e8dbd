package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/testutil"
)

// vendorSink is a local test vendor that records what it receives.
type vendorSink struct {
	mu       sync.Mutex
	bodies   []string
	ids      []string
	failWith int
}

func (v *vendorSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.failWith != 0 {
		w.WriteHeader(v.failWith)
		return
	}
	v.bodies = append(v.bodies, string(b))
	v.ids = append(v.ids, r.Header.Get("webhook-id")+r.Header.Get("Idempotency-Key")+r.Header.Get("X-Delivery-Id"))
	w.WriteHeader(http.StatusOK)
}

func (v *vendorSink) count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.bodies)
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startWithVendor starts a local test vendor and the binary on redisURL with
// the shipped acme-movers vendor pointed at it (credentials set).
func startWithVendor(t *testing.T, redisURL string) (*proc, *vendorSink) {
	t.Helper()
	vendor := &vendorSink{}
	vs := httptest.NewServer(vendor)
	t.Cleanup(vs.Close)
	g := startGateway(t, "REDIS_URL="+redisURL, "ACME_MOVERS_URL="+vs.URL, "ACME_MOVERS_TOKEN=acme-token",
		"ACME_MOVERS_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "ACME_MOVERS_PULL_KEY=pull-key")
	return g, vendor
}

// TestBinarySaveAndSendThroughAnOfflineWindow runs the real binary with a
// real redis-server and a local vendor: Save and Send delivers the rendered
// order; during an offline window the send is held with the maintenance
// notice and goes out when the window is cancelled; a send missing required
// fields is refused naming them, and nothing is queued.
func TestBinarySaveAndSendThroughAnOfflineWindow(t *testing.T) {
	g, vendor := startWithVendor(t, testutil.StartRedis(t).URL())

	create := func(ref string, fields string) string {
		code, _, o := do(t, "POST", g.URL+"/v1/orders", fmt.Sprintf(`{"partner":"acme-movers","company":"globex","service_type":"household_goods_move","refs":{"requestor":%q},"fields":{%s}}`, ref, fields))
		if code != 201 {
			t.Fatalf("create = %d %v", code, o)
		}
		return o["id"].(string)
	}
	full := `"move_date":"2026-12-01","origin_address":"1 Main, Round Rock TX","destination_address":"9 Elm, Austin TX"`

	// Missing required fields: refused, naming them; nothing queued.
	id0 := create("N-0", `"move_date":"2026-12-01"`)
	code, _, p := do(t, "POST", g.URL+"/v1/orders/"+id0+"/send", "")
	if code < 400 || !strings.Contains(fmt.Sprint(p), "origin_address") {
		t.Fatalf("send with missing fields = %d %v, want a refusal naming origin_address", code, p)
	}
	_, _, ds := do(t, "GET", g.URL+"/v1/orders/"+id0+"/deliveries", "")
	if l, _ := ds["deliveries"].([]any); len(l) != 0 {
		t.Fatalf("deliveries after a refused send = %v, want none", l)
	}

	// Online: delivered.
	id1 := create("N-1", full)
	code, _, res := do(t, "POST", g.URL+"/v1/orders/"+id1+"/send", "")
	if code != 202 {
		t.Fatalf("send = %d %v, want 202", code, res)
	}
	waitFor(t, "the vendor to receive the order", 30*time.Second, func() bool { return vendor.count() == 1 })
	if !strings.Contains(vendor.bodies[0], "N-1") {
		t.Errorf("vendor got %s, want the rendered order with its reference", vendor.bodies[0])
	}
	waitFor(t, "the delivery to show Success", 10*time.Second, func() bool {
		_, _, ds := do(t, "GET", g.URL+"/v1/orders/"+id1+"/deliveries", "")
		return strings.Contains(fmt.Sprint(ds), "Success")
	})

	// Offline window: held with the notice, sent when the window is cancelled.
	end := time.Now().Add(2*time.Hour + 10*time.Minute).UTC().Format(time.RFC3339)
	code, _, w := do(t, "PUT", g.URL+"/v1/vendors/acme-movers/offline-window", fmt.Sprintf(`{"end":%q}`, end))
	if code != 200 {
		t.Fatalf("PUT offline-window = %d %v", code, w)
	}
	id2 := create("N-2", full)
	code, _, res = do(t, "POST", g.URL+"/v1/orders/"+id2+"/send", "")
	if code != 202 || !strings.Contains(fmt.Sprint(res), "maintenance") || !strings.Contains(fmt.Sprint(res), "2h") {
		t.Fatalf("send during the window = %d %v, want 202 with the maintenance notice and the time remaining", code, res)
	}
	time.Sleep(1500 * time.Millisecond)
	if vendor.count() != 1 {
		t.Fatalf("vendor received %d deliveries during the window, want 1 (the earlier one)", vendor.count())
	}
	_, _, ds = do(t, "GET", g.URL+"/v1/orders/"+id2+"/deliveries", "")
	if !strings.Contains(fmt.Sprint(ds), "Sending") {
		t.Fatalf("held delivery = %v, want status Sending", ds)
	}
	if code, _, _ := do(t, "DELETE", g.URL+"/v1/vendors/acme-movers/offline-window", ""); code != 204 {
		t.Fatalf("DELETE offline-window = %d, want 204", code)
	}
	waitFor(t, "the held order to go out on cancellation", 30*time.Second, func() bool { return vendor.count() == 2 })
	if !strings.Contains(vendor.bodies[1], "N-2") {
		t.Errorf("second delivery = %s, want order N-2", vendor.bodies[1])
	}
	// Pull mode: the vendor reads the orders its permission set allows, with its key.
	if code, _, _ := do(t, "GET", g.URL+"/partners/acme-movers/orders", "", "X-Api-Key", "wrong"); code != 401 {
		t.Fatalf("pull with a wrong key = %d, want 401", code)
	}
	code, _, page := do(t, "GET", g.URL+"/partners/acme-movers/orders", "", "X-Api-Key", "pull-key")
	if code != 200 || !strings.Contains(fmt.Sprint(page), "N-1") || !strings.Contains(fmt.Sprint(page), "cursor") {
		t.Fatalf("pull = %d %v, want the sent orders and a cursor", code, page)
	}
	req, _ := http.NewRequest("GET", g.URL+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "acme-movers") {
		t.Errorf("/metrics has no per-vendor queue figures")
	}
}
