package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/testutil"
)

// proc is a running gatewayd.
type proc struct {
	*testutil.Gatewayd
	cmd *exec.Cmd
}

func gatewaydBinary(t *testing.T) string { return testutil.GatewaydBinary(t) }

// startGateway runs the binary from the repo root with env added (and
// REDIS_URL empty unless given), waits for /healthz, and stops it at cleanup.
func startGateway(t *testing.T, env ...string) *proc {
	t.Helper()
	full := append(os.Environ(), "REDIS_URL=", "GATEWAY_ATTACHMENTS_DIR="+t.TempDir(), "GATEWAY_ADMIN_TOKEN="+testutil.AdminToken)
	g := testutil.StartGatewayd(t, "../..", fmt.Sprintf("127.0.0.1:%d", testutil.FreePort(t)), nil, append(full, env...))
	return &proc{Gatewayd: g, cmd: g.Cmd}
}

func do(t *testing.T, method, url, body string, hdr ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if strings.Contains(url, "/v1/") {
		testutil.Authorize(req) // the admin token unless the test sent its own
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m
}

func TestBinaryEmbeddedRedisCreateAndRead(t *testing.T) {
	g := startGateway(t)
	if !strings.Contains(g.Logs(), "NOTHING SURVIVES A RESTART") {
		t.Errorf("no loud warning about the embedded Redis in the log:\n%s", g.Logs())
	}
	code, hdr, o := do(t, "POST", g.URL+"/v1/orders", `{"partner":"equus","company":"globex","service_type":"household_goods_move","refs":{"requestor":"N-1"},"fields":{"origin":"Round Rock, TX"}}`)
	if code != 201 || hdr.Get("Location") == "" {
		t.Fatalf("POST /v1/orders = %d %v, want 201 with a Location", code, o)
	}
	id := o["id"].(string)
	code, hdr, got := do(t, "GET", g.URL+"/v1/orders/"+id, "")
	if code != 200 || got["company"] != "globex" || hdr.Get("ETag") != `"1"` {
		t.Fatalf("GET order = %d %v etag %s, want 200 globex etag \"1\"", code, got, hdr.Get("ETag"))
	}
	code, _, got = do(t, "PATCH", g.URL+"/v1/orders/"+id, `{"status":"accepted"}`, "If-Match", `"1"`)
	if code != 200 || got["status"] != "accepted" || got["version"].(float64) != 2 {
		t.Fatalf("PATCH = %d %v, want 200 accepted v2", code, got)
	}
	code, _, evs := do(t, "GET", g.URL+"/v1/orders/"+id+"/events", "")
	list, _ := evs["events"].([]any)
	if code != 200 || len(list) != 2 || list[1].(map[string]any)["type"] != "order.status_changed" {
		t.Fatalf("GET events = %d %v, want order.created then order.status_changed", code, evs)
	}
	code, _, p := do(t, "PATCH", g.URL+"/v1/orders/"+id, `{"status":"closed"}`, "If-Match", `"1"`)
	if code != 412 || p["type"] == nil {
		t.Fatalf("stale PATCH = %d %v, want 412 problem+json", code, p)
	}
	code, _, p = do(t, "POST", g.URL+"/v1/orders", `{"partner":"equus","colour":"red"}`)
	if code != 422 || !strings.Contains(fmt.Sprint(p["errors"]), "colour") {
		t.Fatalf("POST with an unknown field = %d %v, want 422 naming colour", code, p)
	}
	hc := exec.Command(gatewaydBinary(t), "healthcheck")
	hc.Env = append(os.Environ(), "GATEWAY_ADDR="+strings.TrimPrefix(g.URL, "http://"))
	if out, err := hc.CombinedOutput(); err != nil {
		t.Errorf("gatewayd healthcheck = %v %s, want exit 0", err, out)
	}
	for _, path := range []string{"/readyz", "/metrics", "/openapi.json", "/v1/schema"} {
		if code, _, _ := do(t, "GET", g.URL+path, ""); code != 200 {
			t.Errorf("GET %s = %d, want 200", path, code)
		}
	}
}

func TestBinaryTwoReplicasConcurrentPatchOneWins(t *testing.T) {
	srv := testutil.StartRedis(t)
	a := startGateway(t, "REDIS_URL="+srv.URL())
	b := startGateway(t, "REDIS_URL="+srv.URL())
	code, _, o := do(t, "POST", a.URL+"/v1/orders", `{"partner":"equus","refs":{"requestor":"R-2"}}`)
	if code != 201 {
		t.Fatalf("create = %d %v", code, o)
	}
	id := o["id"].(string)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, g := range []*proc{a, b} {
		wg.Add(1)
		go func(i int, g *proc) {
			defer wg.Done()
			codes[i], _, _ = do(t, "PATCH", g.URL+"/v1/orders/"+id, fmt.Sprintf(`{"client_status":"from replica %d","version":1}`, i))
		}(i, g)
	}
	wg.Wait()
	wins, refused := 0, 0
	for _, c := range codes {
		switch c {
		case 200:
			wins++
		case 409, 412:
			refused++
		}
	}
	if wins != 1 || refused != 1 {
		t.Fatalf("two replicas PATCHing version 1 answered %v, want one 200 and one 409/412", codes)
	}
	code, _, got := do(t, "GET", b.URL+"/v1/orders/"+id, "")
	if code != 200 || got["version"].(float64) != 2 {
		t.Fatalf("after the race: %d %v, want version 2", code, got)
	}
	code, _, ready := do(t, "GET", a.URL+"/readyz", "")
	if code != 200 || strings.Contains(fmt.Sprint(ready), "embedded") && strings.Contains(fmt.Sprint(ready), "embedded:true") {
		t.Fatalf("readyz with a real Redis = %d %v", code, ready)
	}
}

// TestBinaryGracefulShutdownFinishesInFlightRequests starts a request whose
// body arrives slowly, sends SIGTERM mid-request, and expects the request to
// complete before the process exits.
func TestBinaryGracefulShutdownFinishesInFlightRequests(t *testing.T) {
	g := startGateway(t)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", g.URL+"/v1/orders", pr)
	req.Header.Set("Content-Type", "application/json")
	testutil.Authorize(req)
	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- result{err: err}
			return
		}
		resp.Body.Close()
		done <- result{code: resp.StatusCode}
	}()
	_, _ = pw.Write([]byte(`{"partner":"equus",`))
	time.Sleep(300 * time.Millisecond) // the request is now in flight
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	_, _ = pw.Write([]byte(`"refs":{"requestor":"late"}}`))
	pw.Close()
	r := <-done
	if r.err != nil || r.code != 201 {
		t.Fatalf("in-flight request during shutdown = %d, %v; want 201", r.code, r.err)
	}
	exited := make(chan error, 1)
	go func() { exited <- g.cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("gatewayd exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("gatewayd did not exit after SIGTERM")
	}
	if !strings.Contains(g.Logs(), "finishing in-flight requests") {
		t.Errorf("no shutdown line in the log")
	}
}
