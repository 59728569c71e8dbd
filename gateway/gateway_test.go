package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/gateway"
	"github.com/equus/sogateway/internal/access"
	"github.com/equus/sogateway/internal/audit"
	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

type env struct {
	srv  *httptest.Server
	logs *bytes.Buffer
}

func newEnv(t *testing.T, rdb redis.UniversalClient, embedded bool) *env {
	t.Helper()
	cfg, err := configs.Load([]byte("server:\n  max_body_bytes: 2048\n"), func(string) (string, bool) { return "", false })
	testutil.Must(t, err)
	if rdb == nil {
		_, rdb = testutil.MiniRedis(t)
	}
	logs := &bytes.Buffer{}
	log := slog.New(gateway.ContextHandler{Handler: slog.NewJSONHandler(logs, nil)})
	st := store.New(rdb, nil)
	gw := gateway.New(gateway.Deps{Config: cfg, Store: st, Intake: intake.New(st, nil), Embedded: embedded, Logger: log,
		Access: access.NewKeys(rdb, &access.Options{AdminToken: testutil.AdminToken}), Audit: audit.New(rdb, nil)})
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(srv.Close)
	return &env{srv: srv, logs: logs}
}

func (e *env) do(t *testing.T, method, path, ctype, body string, hdr ...string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	if strings.HasPrefix(path, "/v1/") {
		testutil.Authorize(req) // the admin token unless the test sent its own
	}
	resp, err := http.DefaultClient.Do(req)
	testutil.Must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m
}

func TestBadInputIsAProblemNamingTheRule(t *testing.T) {
	e := newEnv(t, nil, true)
	tests := []struct {
		name, ctype, body string
		want              int
		detail            string
	}{
		{"malformed", "application/json", `{"partner":`, 400, "ends in the middle"},
		{"wrong content type", "text/plain", `{}`, 415, "application/json"},
		{"oversized", "application/json", `{"partner":"` + strings.Repeat("a", 4000) + `"}`, 413, "limit of 2048"},
		{"trailing value", "application/json", `{"partner":"x"} {"partner":"y"}`, 400, "more than one JSON value"},
		{"unknown field", "application/json", `{"partner":"x","colour":1}`, 422, "colour"},
		{"wrong type", "application/json", `{"partner":7}`, 422, "partner"},
		{"bad status", "application/json", `{"partner":"x","status":"done"}`, 422, "status"},
		{"bad partner name", "application/json", `{"partner":"Not Valid"}`, 422, "partner"},
		{"empty", "application/json", ``, 400, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, p := e.do(t, "POST", "/v1/orders", tt.ctype, tt.body)
			if code != tt.want || hdr.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("POST /v1/orders %s = %d %s, want %d problem+json", tt.name, code, hdr.Get("Content-Type"), tt.want)
			}
			if b, _ := json.Marshal(p); !strings.Contains(string(b), tt.detail) {
				t.Errorf("problem = %s, want it to mention %q", b, tt.detail)
			}
			if p["status"].(float64) != float64(tt.want) || p["title"] == "" {
				t.Errorf("problem = %v, want status %d and a title", p, tt.want)
			}
		})
	}
}

func TestPatchNeedsAVersion(t *testing.T) {
	e := newEnv(t, nil, true)
	_, _, o := e.do(t, "POST", "/v1/orders", "application/json", `{"partner":"pruvan"}`)
	id := o["id"].(string)
	code, _, p := e.do(t, "PATCH", "/v1/orders/"+id, "application/json", `{"client_status":"x"}`)
	if code != 428 || !strings.Contains(p["detail"].(string), "version") {
		t.Fatalf("PATCH without version = %d %v, want 428 naming version", code, p)
	}
	code, _, p = e.do(t, "PATCH", "/v1/orders/"+id, "application/json", `{"client_status":"x"}`, "If-Match", "soon")
	if code != 400 {
		t.Fatalf("PATCH with If-Match soon = %d %v, want 400", code, p)
	}
	code, hdr, _ := e.do(t, "PATCH", "/v1/orders/"+id, "application/json", `{"client_status":"x","version":1}`)
	if code != 200 || hdr.Get("ETag") != `"2"` {
		t.Fatalf("PATCH with version 1 = %d etag %s, want 200 \"2\"", code, hdr.Get("ETag"))
	}
	code, _, _ = e.do(t, "GET", "/v1/orders/nope", "", "")
	if code != 404 {
		t.Fatalf("GET unknown order = %d, want 404", code)
	}
}

func TestEveryRequestLineCarriesARequestID(t *testing.T) {
	e := newEnv(t, nil, true)
	e.do(t, "GET", "/healthz", "", "", "X-Request-Id", "req-123")
	e.do(t, "POST", "/v1/orders", "application/json", `{"partner":"pruvan"}`)
	lines := strings.Split(strings.TrimSpace(e.logs.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("log = %q, want a line per request", e.logs.String())
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		if m["request_id"] == nil || m["request_id"] == "" {
			t.Errorf("log line %q has no request_id", l)
		}
	}
	if !strings.Contains(lines[0], `"request_id":"req-123"`) {
		t.Errorf("first line %q does not carry the caller's X-Request-Id", lines[0])
	}
}

// TestAccessLogLine pins the access log line: one JSON object a request
// with these members in this order and of these types.
func TestAccessLogLine(t *testing.T) {
	e := newEnv(t, nil, true)
	e.do(t, "GET", "/v1/orders/missing?x=1", "", "", "X-Request-Id", "req-9")
	line := strings.TrimSpace(e.logs.String())
	if strings.Count(line, "\n") != 0 {
		t.Fatalf("log = %q, want one line", line)
	}
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var keys []string
	vals := map[string]any{}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("log line %q is not an object", line)
	}
	for dec.More() {
		k, err := dec.Token()
		testutil.Must(t, err)
		var v any
		testutil.Must(t, dec.Decode(&v))
		keys = append(keys, k.(string))
		vals[k.(string)] = v
	}
	if got, want := strings.Join(keys, ","), "time,level,msg,method,path,route,status,bytes,duration_ms,remote,request_id"; got != want {
		t.Fatalf("access log members %s, want %s", got, want)
	}
	for k, want := range map[string]any{"level": "INFO", "msg": "request", "method": "GET", "path": "/v1/orders/missing",
		"route": "/v1/orders/:id", "status": json.Number("404"), "remote": "127.0.0.1", "request_id": "req-9"} {
		if vals[k] != want {
			t.Errorf("%s = %#v, want %#v", k, vals[k], want)
		}
	}
	for _, k := range []string{"bytes", "duration_ms"} {
		if _, ok := vals[k].(json.Number); !ok {
			t.Errorf("%s = %#v, want a number", k, vals[k])
		}
	}
}

func TestMetricsCountRequestsByRouteAndStatus(t *testing.T) {
	e := newEnv(t, nil, true)
	e.do(t, "GET", "/v1/orders/missing", "", "")
	resp, err := http.Get(e.srv.URL + "/metrics")
	testutil.Must(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `gateway_http_requests_total{method="GET",route="/v1/orders/:id",status="404"} 1`
	if !strings.Contains(string(b), want) {
		t.Fatalf("/metrics lacks %q", want)
	}
	if !strings.Contains(string(b), "gateway_http_request_duration_seconds_bucket") {
		t.Fatalf("/metrics lacks the latency histogram")
	}
}

func TestReadyzReportsPersistenceOfARealRedis(t *testing.T) {
	srv := testutil.StartRedis(t)
	rdb := srv.Client()
	e := newEnv(t, rdb, false)
	code, _, body := e.do(t, "GET", "/readyz", "", "")
	redisCheck := body["checks"].(map[string]any)["redis"].(map[string]any)
	if code != 200 || redisCheck["warning"] != nil {
		t.Fatalf("readyz on AOF+noeviction = %d %v, want ready without warning", code, body)
	}
	testutil.Must(t, rdb.ConfigSet(context.Background(), "appendonly", "no").Err())
	testutil.Must(t, rdb.ConfigSet(context.Background(), "maxmemory-policy", "allkeys-lru").Err())
	code, _, body = e.do(t, "GET", "/readyz", "", "")
	b, _ := json.Marshal(body)
	if code != 200 || !strings.Contains(string(b), "AOF is off") || !strings.Contains(string(b), "allkeys-lru") {
		t.Fatalf("readyz without AOF and with allkeys-lru = %d %s, want a warning naming both", code, b)
	}
	srv.Stop()
	code, _, body = e.do(t, "GET", "/readyz", "", "")
	if code != 503 {
		t.Fatalf("readyz with Redis down = %d %v, want 503", code, body)
	}
}

func TestReadyzEmbeddedWarnsButStaysReady(t *testing.T) {
	e := newEnv(t, nil, true)
	code, _, body := e.do(t, "GET", "/readyz", "", "")
	b, _ := json.Marshal(body)
	if code != 200 || !strings.Contains(string(b), "nothing survives a restart") {
		t.Fatalf("embedded readyz = %d %s, want 200 with the warning", code, b)
	}
}

func TestPlatformMessageIsAnOutboundEvent(t *testing.T) {
	e := newEnv(t, nil, true)
	_, _, o := e.do(t, "POST", "/v1/orders", "application/json", `{"partner":"ssp7","refs":{"requestor":"T-9"}}`)
	id := o["id"].(string)
	code, _, p := e.do(t, "POST", "/v1/orders/"+id+"/messages", "application/json", `{"text":"  "}`)
	if code != 422 || !strings.Contains(p["detail"].(string), "text") {
		t.Fatalf("empty message = %d %v, want 422 naming text", code, p)
	}
	code, _, m := e.do(t, "POST", "/v1/orders/"+id+"/messages", "application/json", `{"text":"Please send an ETA","author":"desk"}`)
	if code != 201 || m["version"].(float64) != 2 {
		t.Fatalf("message = %d %v, want 201 at version 2", code, m)
	}
	_, _, evs := e.do(t, "GET", "/v1/orders/"+id+"/events", "", "")
	last := evs["events"].([]any)[1].(map[string]any)
	if last["type"] != "order.message" || last["direction"] != "out" {
		t.Fatalf("last event = %v, want order.message out", last)
	}
	_, _, got := e.do(t, "GET", "/v1/orders/"+id, "", "")
	if msgs := got["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["text"] != "Please send an ETA" {
		t.Fatalf("messages = %v", got["messages"])
	}
}
