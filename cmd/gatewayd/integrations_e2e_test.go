package main

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/testutil"
)

// TestBinaryDefinitionAddedThroughTheAPIWorksOnEveryReplica runs two real
// binaries on one redis-server: a Save and Send without a definition is
// refused; an admin adds the definition on replica A; the next Save and Send
// on replica B succeeds without a restart and reaches the vendor, and the
// audit trail (read on B) shows who added what.
func TestBinaryDefinitionAddedThroughTheAPIWorksOnEveryReplica(t *testing.T) {
	testutil.RequireIntegration(t, "redis-server")
	rs := testutil.StartRedis(t)
	vendor := &vendorSink{}
	vs := httptest.NewServer(vendor)
	t.Cleanup(vs.Close)
	env := []string{"REDIS_URL=" + rs.URL(), "ACME_MOVERS_URL=" + vs.URL, "ACME_MOVERS_TOKEN=acme-token",
		"ACME_MOVERS_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "ACME_MOVERS_PULL_KEY=pull-key"}
	a := startGateway(t, env...)
	b := startGateway(t, env...)

	order := func(g *proc, ref string) string {
		code, _, o := do(t, "POST", g.URL+"/v1/orders", fmt.Sprintf(`{"partner":"acme-movers","company":"initech","service_type":"household_goods_move","refs":{"requestor":%q}}`, ref))
		if code != 201 {
			t.Fatalf("POST /v1/orders = %d %v", code, o)
		}
		return o["id"].(string)
	}
	first := order(b, "IN-1")
	if code, _, p := do(t, "POST", b.URL+"/v1/orders/"+first+"/send", ""); code != 422 {
		t.Fatalf("Save and Send without a definition for initech = %d %v, want 422", code, p)
	}

	// A definition that breaks a rule is refused, naming the field.
	code, _, p := do(t, "POST", a.URL+"/v1/vendors/acme-movers/definitions", `{"company":"initech","service_type":"household_goods_move","event":"order.teleported","active":true}`)
	if code != 422 || !strings.Contains(toJSON(p["errors"]), `"field":"event"`) {
		t.Fatalf("POST a definition with a bad event = %d %v, want 422 naming event", code, p)
	}
	code, hdr, p := do(t, "POST", a.URL+"/v1/vendors/acme-movers/definitions", `{"company":"initech","service_type":"household_goods_move","event":"order.submitted","active":true}`)
	if code != 201 || hdr.Get("ETag") == "" {
		t.Fatalf("POST /v1/vendors/acme-movers/definitions = %d %v, want 201 with an ETag", code, p)
	}

	// The next Save and Send on the other replica succeeds: no restart. The
	// change is announced at once; the wait only covers the announcement's
	// trip through Redis.
	var res map[string]any
	waitFor(t, "replica B to apply the new definition", 10*time.Second, func() bool {
		code, _, res = do(t, "POST", b.URL+"/v1/orders/"+first+"/send", "")
		return code == 202
	})
	if ds, _ := res["deliveries"].([]any); len(ds) != 1 {
		t.Fatalf("Save and Send on B = %v, want one delivery", res)
	}
	waitFor(t, "the vendor to receive the order", 15*time.Second, func() bool { return vendor.count() >= 1 })
	second := order(a, "IN-2")
	if code, _, p := do(t, "POST", a.URL+"/v1/orders/"+second+"/send", ""); code != 202 {
		t.Fatalf("Save and Send on A = %d %v, want 202", code, p)
	}

	code, _, au := do(t, "GET", b.URL+"/v1/audit?kind=definition", "")
	recs, _ := au["records"].([]any)
	if code != 200 || len(recs) != 1 {
		t.Fatalf("GET /v1/audit?kind=definition on B = %d %v, want the one creation", code, au)
	}
	rec := recs[0].(map[string]any)
	if rec["action"] != "create" || rec["key"] != "acme-movers/initech:household_goods_move:order.submitted" ||
		!strings.Contains(fmt.Sprint(rec["who"]), "bootstrap admin") || !strings.Contains(toJSON(rec["after"]), `"company":"initech"`) {
		t.Fatalf("audit record = %v, want who, what and the definition added", rec)
	}

	// Optimistic concurrency: a change needs the version read; a stale one is refused.
	def := "/v1/vendors/acme-movers/definitions/initech:household_goods_move:order.submitted"
	body := `{"company":"initech","service_type":"household_goods_move","event":"order.submitted","active":false}`
	if code, _, _ := do(t, "PUT", a.URL+def, body); code != 428 {
		t.Errorf("PUT a definition without If-Match = %d, want 428", code)
	}
	_, hdr, _ = do(t, "GET", b.URL+def, "")
	if code, _, p := do(t, "PUT", a.URL+def, body, "If-Match", `"1"`); code != 412 {
		t.Errorf("PUT with a stale If-Match = %d %v, want 412", code, p)
	}
	if code, _, p := do(t, "PUT", a.URL+def, body, "If-Match", hdr.Get("ETag")); code != 200 {
		t.Fatalf("PUT with the ETag read = %d %v, want 200", code, p)
	}
	// The live set comes back as YAML: the definition is there, the
	// credentials are variable names, not values.
	exp := exec.Command(gatewaydBinary(t), "config", "export", "-url", a.URL)
	exp.Env = append(os.Environ(), "GATEWAY_ADMIN_TOKEN="+testutil.AdminToken)
	yml, err := exp.Output()
	if err != nil {
		t.Fatalf("gatewayd config export: %v", err)
	}
	raw, err := configs.RawSection(yml, "vendors")
	if err != nil || raw["acme-movers"] == nil {
		t.Fatalf("config export wrote no vendors section: %v\n%s", err, yml)
	}
	if _, _, err := configs.ResolveVendor("acme-movers", raw["acme-movers"], func(string) (string, bool) { return "http://vendor.test", true }, nil); err != nil {
		t.Fatalf("the exported vendor does not load back: %v", err)
	}
	if s := string(yml); !strings.Contains(s, "company: initech") || !strings.Contains(s, "token_env: ACME_MOVERS_TOKEN") ||
		!strings.Contains(s, "${ACME_MOVERS_URL}") || strings.Contains(s, "acme-token") || strings.Contains(s, vs.URL) {
		t.Fatalf("config export = %s, want the initech definition and variable names only", s)
	}

	third := order(b, "IN-3")
	waitFor(t, "replica B to apply the deactivation", 10*time.Second, func() bool {
		code, _, _ := do(t, "POST", b.URL+"/v1/orders/"+third+"/send", "")
		return code == 422
	})
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
