package gateway_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/gateway"
	"github.com/equus/sogateway/internal/access"
	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/orderindex"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

func TestFindOrdersOverHTTP(t *testing.T) {
	_, rdb := testutil.MiniRedis(t)
	cfg, err := configs.Load([]byte("{}"), func(string) (string, bool) { return "", false })
	testutil.Must(t, err)
	st := store.New(rdb, nil)
	ix := orderindex.New(rdb, nil)
	st.SetIndexer(ix)
	gw := gateway.New(gateway.Deps{Config: cfg, Store: st, Intake: intake.New(st, nil), Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Access: access.NewKeys(rdb, &access.Options{AdminToken: testutil.AdminToken}), Index: ix})
	srv := httptest.NewServer(gw.Handler())
	t.Cleanup(srv.Close)
	r := &authRig{gw: gw, srv: srv}
	var pruvanIDs []string
	for i, p := range []string{"pruvan", "equus", "pruvan", "pruvan", "equus"} {
		code, _, o := r.call(t, testutil.AdminToken, "POST", "/v1/orders", `{"partner":"`+p+`","company":"globex","refs":{"requestor":"S-`+string(rune('0'+i))+`"}}`)
		if code != 201 {
			t.Fatalf("POST order = %d %v", code, o)
		}
		if p == "pruvan" {
			pruvanIDs = append(pruvanIDs, o["id"].(string))
		}
	}
	// The second pruvan order moves to accepted: it leaves status new.
	if code, _, p := r.call(t, testutil.AdminToken, "PATCH", "/v1/orders/"+pruvanIDs[1], `{"status":"accepted","version":1}`); code != 200 {
		t.Fatalf("PATCH = %d %v", code, p)
	}
	code, _, page := r.call(t, testutil.AdminToken, "GET", "/v1/orders?partner=pruvan&status=new&limit=1", "")
	seen := 0
	for code == 200 {
		os, _ := page["orders"].([]any)
		seen += len(os)
		for _, o := range os {
			if m := o.(map[string]any); m["partner"] != "pruvan" || m["status"] != "new" {
				t.Fatalf("found %v outside the filter", m)
			}
		}
		next, _ := page["next"].(string)
		if next == "" {
			break
		}
		code, _, page = r.call(t, testutil.AdminToken, "GET", "/v1/orders?partner=pruvan&status=new&limit=1&cursor="+next, "")
	}
	if code != 200 || seen != 2 {
		t.Fatalf("paging pruvan/new = %d, %d orders, want 200 and 2", code, seen)
	}
	code, _, page = r.call(t, testutil.AdminToken, "GET", "/v1/orders?ref=S-3", "")
	if os, _ := page["orders"].([]any); code != 200 || len(os) != 1 || os[0].(map[string]any)["id"] != pruvanIDs[2] {
		t.Fatalf("GET /v1/orders?ref=S-3 = %d %v, want the third pruvan order", code, page)
	}
	for _, bad := range []string{"status=done", "updated_since=yesterday", "limit=0", "cursor=zz"} {
		if code, _, p := r.call(t, testutil.AdminToken, "GET", "/v1/orders?"+bad, ""); code != 422 {
			t.Errorf("GET /v1/orders?%s = %d %v, want 422", bad, code, p)
		}
	}
	key := r.key(t, `{"name":"equus reader","scopes":["read"],"partner":"equus"}`)
	code, _, page = r.call(t, key, "GET", "/v1/orders", "")
	if os, _ := page["orders"].([]any); code != 200 || len(os) != 2 {
		t.Fatalf("equus-bound GET /v1/orders = %d %v, want its 2 orders only", code, page)
	}
	if code, _, _ := r.call(t, key, "GET", "/v1/orders?partner=pruvan", ""); code != 403 {
		t.Errorf("equus-bound search for pruvan = %d, want 403", code)
	}
}
