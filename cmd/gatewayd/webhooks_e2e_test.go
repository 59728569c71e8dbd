package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/testutil"
)

// TestBinaryStandardWebhooksRetry: against the real binary and Redis, a
// sender's retry (same webhook-id, same body) gets the same 2xx and changes
// nothing; another body under the used id, or a stale timestamp, is refused.
func TestBinaryStandardWebhooksRetry(t *testing.T) {
	testutil.RequireIntegration(t, "redis-server")
	srv := testutil.StartRedis(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "hooks"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hooks", "hooks.yaml"), []byte(testutil.HooksMapping), 0o644); err != nil {
		t.Fatal(err)
	}
	secret := testutil.HooksSecret
	g := startGateway(t, "REDIS_URL="+srv.URL(), "GATEWAY_MAPPINGS_DIR="+dir, "HOOKS_SECRET="+secret)
	code, _, o := do(t, "POST", g.URL+"/v1/orders", `{"partner":"hooks","refs":{"requestor":"H-1"}}`)
	if code != 201 {
		t.Fatalf("create order = %d %v", code, o)
	}
	id := o["id"].(string)
	post := func(msgID string, ts time.Time, body string) (int, map[string]any) {
		sig := testutil.WebhookSignature(t, secret, msgID, ts, []byte(body))
		code, _, m := do(t, "POST", g.URL+"/partners/hooks/orders/"+id+"/notes", body,
			"webhook-id", msgID, "webhook-timestamp", strconv.FormatInt(ts.Unix(), 10), "webhook-signature", sig)
		return code, m
	}
	now := time.Now()
	code, first := post("msg_1", now, `{"text":"hello"}`)
	if code != http.StatusOK {
		t.Fatalf("first delivery = %d %v", code, first)
	}
	code, again := post("msg_1", now, `{"text":"hello"}`)
	if code != http.StatusOK || again["event_id"] != first["event_id"] || again["duplicate"] != true {
		t.Fatalf("retry = %d %v, want 200 with the first event %v", code, again, first["event_id"])
	}
	if code, m := post("msg_1", now, `{"text":"changed"}`); code != http.StatusUnauthorized || !strings.Contains(m["detail"].(string), "replayed") {
		t.Fatalf("other body under a used id = %d %v, want 401 replayed", code, m)
	}
	if code, m := post("msg_2", now.Add(-time.Hour), `{"text":"late"}`); code != http.StatusUnauthorized {
		t.Fatalf("stale timestamp = %d %v, want 401", code, m)
	}
	_, _, evs := do(t, "GET", g.URL+"/v1/orders/"+id+"/events", "")
	n := 0
	for _, e := range evs["events"].([]any) {
		if e.(map[string]any)["type"] == "order.message" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d message events, want 1", n)
	}
}
