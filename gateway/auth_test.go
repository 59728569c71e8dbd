package gateway_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/gateway"
	"github.com/equus/sogateway/internal/access"
	"github.com/equus/sogateway/internal/audit"
	"github.com/equus/sogateway/internal/dispatch"
	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/queue"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// authRig is a gateway with every /v1 route the binary mounts that lives in
// this package (platform, API keys, audit, dispatch).
type authRig struct {
	gw  *gateway.Gateway
	srv *httptest.Server
}

func newAuthRig(t *testing.T, rdb redis.UniversalClient) *authRig {
	t.Helper()
	cfg, err := configs.Load([]byte("{}"), func(string) (string, bool) { return "", false })
	testutil.Must(t, err)
	st := store.New(rdb, nil)
	gw := gateway.New(gateway.Deps{Config: cfg, Store: st, Intake: intake.New(st, nil), Embedded: true,
		Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Access: access.NewKeys(rdb, &access.Options{AdminToken: testutil.AdminToken}), Audit: audit.New(rdb, nil)})
	svc := dispatch.New(st, queue.New(rdb, nil), nil, nil)
	gateway.RegisterDispatch(gw.Engine().Group("/v1"), gw.Engine().Group("/partners"), svc)
	gw.AddOpenAPIPaths(gateway.DispatchOpenAPIPaths())
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(srv.Close)
	return &authRig{gw: gw, srv: srv}
}

// call sends a request with token ("" sends none) and decodes a JSON object answer.
func (r *authRig) call(t *testing.T, token, method, path, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, r.srv.URL+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	testutil.Must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return resp.StatusCode, resp.Header, m
}

func (r *authRig) key(t *testing.T, body string) string {
	t.Helper()
	code, _, k := r.call(t, testutil.AdminToken, "POST", "/v1/api-keys", body)
	if code != 201 {
		t.Fatalf("POST /v1/api-keys %s = %d %v, want 201", body, code, k)
	}
	tok, _ := k["token"].(string)
	if !strings.HasPrefix(tok, "sogk_") {
		t.Fatalf("POST /v1/api-keys answer has no token: %v", k)
	}
	return tok
}

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// TestEveryV1RouteRefusesAnonymousAccess walks /openapi.json: every /v1
// operation answers 401 problem+json without a credential and with a wrong
// one; and every /v1 route the engine serves is in the document, so the walk
// cannot miss one.
func TestEveryV1RouteRefusesAnonymousAccess(t *testing.T) {
	_, rdb := testutil.MiniRedis(t)
	r := newAuthRig(t, rdb)
	code, _, doc := r.call(t, "", "GET", "/openapi.json", "")
	if code != 200 {
		t.Fatalf("GET /openapi.json = %d, want 200 without a credential", code)
	}
	paths, _ := doc["paths"].(map[string]any)
	documented := map[string]bool{}
	n := 0
	for p, item := range paths {
		if !strings.HasPrefix(p, "/v1/") {
			continue
		}
		for method, op := range item.(map[string]any) {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+p] = true
			if sec, _ := op.(map[string]any)["security"].([]any); len(sec) == 0 {
				t.Errorf("%s %s declares no security", strings.ToUpper(method), p)
			}
			url := pathParam.ReplaceAllString(p, "x")
			for _, tok := range []string{"", "wrong-token", "sogk_0123456789abcdef_forged"} {
				n++
				code, hdr, body := r.call(t, tok, strings.ToUpper(method), url, `{}`)
				if code != 401 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") || body["status"] != float64(401) {
					t.Errorf("%s %s with token %q = %d %s %v, want 401 problem+json", strings.ToUpper(method), url, tok, code, hdr.Get("Content-Type"), body)
				}
			}
		}
	}
	if n < 3*15 {
		t.Fatalf("walked only %d requests; the document lists too few /v1 operations", n)
	}
	var missing []string
	for _, rt := range r.gw.Engine().Routes() {
		if !strings.HasPrefix(rt.Path, "/v1/") {
			continue
		}
		p := regexp.MustCompile(`:([a-z_]+)`).ReplaceAllString(rt.Path, "{$1}")
		if !documented[rt.Method+" "+p] {
			missing = append(missing, rt.Method+" "+p)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("routes served but not in /openapi.json (so not walked): %v", missing)
	}
	for _, open := range []string{"/healthz", "/readyz", "/metrics", "/openapi.json"} {
		if code, _, _ := r.call(t, "", "GET", open, ""); code != 200 {
			t.Errorf("GET %s without a credential = %d, want 200 (open for probes)", open, code)
		}
	}
	// An unknown /v1 path does not tell strangers what exists.
	if code, _, _ := r.call(t, "", "GET", "/v1/nothing-here", ""); code != 401 {
		t.Errorf("GET /v1/nothing-here anonymously = %d, want 401", code)
	}
}

func TestAPIKeyScopesAndRevocation(t *testing.T) {
	testutil.EachRedis(t, func(t *testing.T, rdb redis.UniversalClient) {
		r := newAuthRig(t, rdb)
		order := `{"partner":"equus","company":"globex","service_type":"household_goods_move","refs":{"requestor":"K-1"}}`
		code, _, o := r.call(t, testutil.AdminToken, "POST", "/v1/orders", order)
		if code != 201 {
			t.Fatalf("admin POST /v1/orders = %d %v", code, o)
		}
		id := o["id"].(string)
		read := r.key(t, `{"name":"dashboard","scopes":["read"]}`)
		write := r.key(t, `{"name":"platform","scopes":["write"]}`)

		if code, _, _ := r.call(t, read, "GET", "/v1/orders/"+id, ""); code != 200 {
			t.Errorf("read key GET order = %d, want 200", code)
		}
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/v1/orders", order},
			{"PATCH", "/v1/orders/" + id, `{"client_status":"x","version":1}`},
			{"POST", "/v1/orders/" + id + "/messages", `{"text":"hi"}`},
			{"PUT", "/v1/vendors/acme/offline-window", `{"end":"2099-01-01T00:00:00Z"}`},
			{"POST", "/v1/api-keys", `{"name":"x","scopes":["read"]}`},
			{"GET", "/v1/audit", ""},
		} {
			code, hdr, p := r.call(t, read, c.method, c.path, c.body)
			if code != 403 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/problem+json") {
				t.Errorf("read key %s %s = %d %v, want 403 problem+json", c.method, c.path, code, p)
			}
		}
		if code, _, p := r.call(t, write, "PATCH", "/v1/orders/"+id, `{"client_status":"x","version":1}`); code != 200 {
			t.Errorf("write key PATCH = %d %v, want 200", code, p)
		}
		if code, _, _ := r.call(t, write, "GET", "/v1/api-keys", ""); code != 403 {
			t.Errorf("write key GET /v1/api-keys = %d, want 403 (admin only)", code)
		}

		code, _, list := r.call(t, testutil.AdminToken, "GET", "/v1/api-keys", "")
		keys, _ := list["api_keys"].([]any)
		if code != 200 || len(keys) != 2 {
			t.Fatalf("GET /v1/api-keys = %d %v, want the two keys", code, list)
		}
		b, _ := json.Marshal(list)
		if strings.Contains(string(b), read[10:]) || strings.Contains(string(b), "hash") {
			t.Fatalf("the listing shows a secret: %s", b)
		}
		// Redis holds the key's digest, not the key.
		for _, k := range rdb.Keys(context.Background(), "*apikeys*").Val() {
			if h := rdb.HGetAll(context.Background(), k).Val(); strings.Contains(strings.Join(mapValues(h), " "), read) {
				t.Fatalf("Redis key %s stores the token in clear", k)
			}
		}
		readID := strings.Split(strings.TrimPrefix(read, "sogk_"), "_")[0]
		if code, _, _ := r.call(t, testutil.AdminToken, "DELETE", "/v1/api-keys/"+readID, ""); code != 204 {
			t.Fatalf("DELETE key = %d, want 204", code)
		}
		if code, _, _ := r.call(t, read, "GET", "/v1/orders/"+id, ""); code != 401 {
			t.Errorf("revoked key GET = %d, want 401", code)
		}
		if code, _, _ := r.call(t, testutil.AdminToken, "DELETE", "/v1/api-keys/"+readID, ""); code != 404 {
			t.Errorf("DELETE of a revoked key = %d, want 404", code)
		}
		code, _, p := r.call(t, testutil.AdminToken, "POST", "/v1/api-keys", `{"name":"x","scopes":["root"]}`)
		if code != 422 || !strings.Contains(toJSON(p["errors"]), "scopes[0]") {
			t.Errorf("POST a key with scope root = %d %v, want 422 naming scopes[0]", code, p)
		}
		code, _, au := r.call(t, testutil.AdminToken, "GET", "/v1/audit?kind=api-key", "")
		recs, _ := au["records"].([]any)
		if code != 200 || len(recs) != 3 || recs[0].(map[string]any)["action"] != "delete" || !strings.Contains(toJSON(recs[0]), "bootstrap admin") {
			t.Errorf("GET /v1/audit?kind=api-key = %d %v, want create, create, delete by the bootstrap admin", code, au)
		}
	})
}

func TestBoundKeySeesOnlyItsOrders(t *testing.T) {
	_, rdb := testutil.MiniRedis(t)
	r := newAuthRig(t, rdb)
	mk := func(partner, ref string) string {
		code, _, o := r.call(t, testutil.AdminToken, "POST", "/v1/orders", `{"partner":"`+partner+`","refs":{"requestor":"`+ref+`"}}`)
		if code != 201 {
			t.Fatalf("POST order = %d %v", code, o)
		}
		return o["id"].(string)
	}
	own, other, sent := mk("pruvan", "P-1"), mk("equus", "E-1"), mk("equus", "E-2")
	r.gw.SetVendorsOf(func(_ context.Context, id string) ([]string, error) {
		if id == sent {
			return []string{"acme-movers"}, nil
		}
		return nil, nil
	})
	pk := r.key(t, `{"name":"pruvan sync","scopes":["write"],"partner":"pruvan"}`)
	vk := r.key(t, `{"name":"acme","scopes":["write"],"vendor":"acme-movers"}`)
	for _, c := range []struct {
		tok, method, path, body string
		want                    int
	}{
		{pk, "GET", "/v1/orders/" + own, "", 200},
		{pk, "GET", "/v1/orders/" + own + "/events", "", 200},
		{pk, "GET", "/v1/orders/" + other, "", 404},
		{pk, "GET", "/v1/orders/" + other + "/events", "", 404},
		{pk, "PATCH", "/v1/orders/" + other, `{"client_status":"x","version":1}`, 404},
		{pk, "POST", "/v1/orders", `{"partner":"equus","refs":{"requestor":"E-9"}}`, 403},
		{pk, "POST", "/v1/orders", `{"partner":"pruvan","refs":{"requestor":"P-9"}}`, 201},
		{pk, "GET", "/v1/vendors/acme-movers/dead-letters", "", 403},
		{pk, "GET", "/v1/api-keys", "", 403},
		{vk, "GET", "/v1/orders/" + sent, "", 200},
		{vk, "GET", "/v1/orders/" + other, "", 404},
		{vk, "GET", "/v1/orders/" + own, "", 404},
		{vk, "PUT", "/v1/vendors/other-vendor/offline-window", `{"end":"2099-01-01T00:00:00Z"}`, 403},
	} {
		code, _, p := r.call(t, c.tok, c.method, c.path, c.body)
		if code != c.want {
			who := "partner key"
			if c.tok == vk {
				who = "vendor key"
			}
			t.Errorf("%s %s %s = %d %v, want %d", who, c.method, c.path, code, p, c.want)
		}
	}
	code, _, p := r.call(t, testutil.AdminToken, "POST", "/v1/api-keys", `{"name":"x","scopes":["admin"],"partner":"pruvan"}`)
	if code != 422 {
		t.Errorf("an admin key bound to a partner = %d %v, want 422", code, p)
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
