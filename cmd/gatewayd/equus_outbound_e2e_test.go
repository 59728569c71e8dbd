package main

import (
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/testutil"
)

// equusConfig is the shipped configuration plus a closure definition for
// acme-movers and a pull-only vendor, haulers, whose permission set shows it
// two fields only.
func equusConfig(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../configs/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "    pull:\n      enabled: true\n      api_key_env: ACME_MOVERS_PULL_KEY\n",
		"      - {company: globex, service_type: household_goods_move, event: order.closed, active: true, render: status_update}\n"+
			"    pull:\n      enabled: true\n      api_key_env: ACME_MOVERS_PULL_KEY\n"+
			"  haulers:\n    transport: pull\n    permissions:\n      service_types: [household_goods_move]\n"+
			"      fields: [fields.move_date, fields.destination_address]\n    pull: {enabled: true, api_key_env: HAULERS_PULL_KEY}\n", 1)
	if s == string(b) {
		t.Fatal("the shipped acme-movers vendor changed shape; update equusConfig")
	}
	p := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBinaryEquusClosureAndPullOnlyVendor runs the real binary with
// redis-server and a local vendor (seed 000): closure is dispatched per
// definition, and a pull-only vendor with no push definition is sent the
// order with any communication type and reads it from its feed with only the
// fields its permission set lists.
func TestBinaryEquusClosureAndPullOnlyVendor(t *testing.T) {
	testutil.RequireIntegration(t)
	vendor := &vendorSink{}
	vs := httptest.NewServer(vendor)
	t.Cleanup(vs.Close)
	g := startGateway(t, "REDIS_URL="+testutil.StartRedis(t).URL(), "GATEWAY_CONFIG="+equusConfig(t),
		"ACME_MOVERS_URL="+vs.URL, "ACME_MOVERS_TOKEN=acme-token", "ACME_MOVERS_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"ACME_MOVERS_PULL_KEY=pull-key", "HAULERS_PULL_KEY=haulers-key")
	code, _, o := do(t, "POST", g.URL+"/v1/orders", `{"partner":"equus","company":"globex","service_type":"household_goods_move","refs":{"requestor":"N-7"},"fields":{"move_date":"2026-12-01","origin_address":"1 Main, Round Rock TX","destination_address":"9 Elm, Austin TX","internal_cost":1234}}`)
	if code != 201 {
		t.Fatalf("create = %d %v", code, o)
	}
	id := o["id"].(string)

	// The preview names both vendors before the click.
	code, _, pv := do(t, "GET", g.URL+"/v1/orders/"+id+"/send-preview", "")
	if code != 200 || !strings.Contains(fmt.Sprint(pv), "vendor:acme-movers") || !strings.Contains(fmt.Sprint(pv), "vendor:haulers") ||
		!strings.Contains(fmt.Sprint(pv), "If you save and send, the service order will be automatically sent to the vendor.") {
		t.Fatalf("send-preview = %d %v, want acme-movers and haulers with the send notice", code, pv)
	}

	// While acme-movers is offline the preview carries the maintenance notice with its time.
	end := time.Now().Add(2*time.Hour + 10*time.Minute).UTC().Format(time.RFC3339)
	if code, _, w := do(t, "PUT", g.URL+"/v1/vendors/acme-movers/offline-window", fmt.Sprintf(`{"end":%q}`, end)); code != 200 {
		t.Fatalf("PUT offline-window = %d %v", code, w)
	}
	_, _, pv = do(t, "GET", g.URL+"/v1/orders/"+id+"/send-preview?vendor=acme-movers", "")
	vs0 := pv["vendors"].([]any)[0].(map[string]any)
	off, _ := vs0["offline"].(map[string]any)
	if off == nil || !strings.Contains(fmt.Sprint(off["notice"]), "maintenance") || !strings.HasPrefix(fmt.Sprint(off["remaining"]), "2h") || vs0["would_send"] != true {
		t.Fatalf("preview while offline = %v, want would_send with the maintenance notice and 2h… remaining", vs0)
	}
	if code, _, _ := do(t, "DELETE", g.URL+"/v1/vendors/acme-movers/offline-window", ""); code != 204 {
		t.Fatalf("DELETE offline-window = %d", code)
	}
	if code, _, r := do(t, "POST", g.URL+"/v1/orders/"+id+"/send", `{"vendor":"acme-movers"}`); code != 202 {
		t.Fatalf("send to acme-movers = %d %v", code, r)
	}
	waitFor(t, "acme-movers to receive the order", 30*time.Second, func() bool { return vendor.count() == 1 })

	// A pull-only vendor: no push definition, any communication type.
	code, _, r := do(t, "POST", g.URL+"/v1/orders/"+id+"/send", `{"vendor":"haulers","communication":"phone"}`)
	if ds, _ := r["deliveries"].([]any); code != 202 || r["pulled"] != true || len(ds) != 0 {
		t.Fatalf("send to haulers = %d %v, want 202, pulled and no push delivery", code, r)
	}
	code, _, page := do(t, "GET", g.URL+"/partners/haulers/orders", "", "X-Api-Key", "haulers-key")
	orders, _ := page["orders"].([]any)
	if code != 200 || len(orders) != 1 {
		t.Fatalf("haulers pull = %d %v, want its one order", code, page)
	}
	fields := orders[0].(map[string]any)["fields"].(map[string]any)
	if fields["move_date"] != "2026-12-01" || fields["destination_address"] != "9 Elm, Austin TX" || len(fields) != 2 {
		t.Errorf("haulers sees fields %v, want move_date and destination_address only", fields)
	}
	// acme-movers' permission set lists no fields: it still sees everything.
	_, _, acme := do(t, "GET", g.URL+"/partners/acme-movers/orders", "", "X-Api-Key", "pull-key")
	if !strings.Contains(fmt.Sprint(acme), "internal_cost") {
		t.Errorf("acme-movers pull = %v, want every field", acme)
	}

	// Closure: dispatched per definition.
	_, _, cur := do(t, "GET", g.URL+"/v1/orders/"+id, "")
	if code, _, p := do(t, "PATCH", g.URL+"/v1/orders/"+id, fmt.Sprintf(`{"version":%v,"status":"closed"}`, cur["version"])); code != 200 {
		t.Fatalf("close = %d %v", code, p)
	}
	waitFor(t, "the closure to reach acme-movers", 30*time.Second, func() bool {
		vendor.mu.Lock()
		defer vendor.mu.Unlock()
		return strings.Contains(strings.Join(vendor.bodies, "\n"), `"event":"order.closed"`)
	})
}
