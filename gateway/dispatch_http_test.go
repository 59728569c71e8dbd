package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/clock"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/adapters"
	"github.com/equus/sogateway/configs"
	"github.com/equus/sogateway/internal/dispatch"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/internal/queue"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

type dispatchRenderer struct{}

func (dispatchRenderer) Render(partner, kind string, o *model.Order, ev *model.Event, extra map[string]any) (*dispatch.Rendered, error) {
	switch kind {
	case "order", "update_values", "pull":
		b, _ := json.Marshal(map[string]any{"kind": kind, "order": o.ID})
		return &dispatch.Rendered{ContentType: "application/json", Body: b}, nil
	}
	return nil, fmt.Errorf("test: %s: %w", kind, dispatch.ErrUnknownRender)
}

type dispatchRig struct {
	t      *testing.T
	engine *gin.Engine
	st     *store.Store
	svc    *dispatch.Service
	clk    *clock.Offset
	mu     sync.Mutex
	status int // what the vendor answers
	hits   int
}

func newDispatchRig(t *testing.T) *dispatchRig {
	_, rdb := testutil.MiniRedis(t)
	r := &dispatchRig{t: t, st: store.New(rdb, nil), clk: &clock.Offset{}, status: 200}
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		r.mu.Lock()
		r.hits++
		st := r.status
		r.mu.Unlock()
		w.WriteHeader(st)
	}))
	t.Cleanup(vendor.Close)
	quietLog := slog.New(slog.NewTextHandler(io.Discard, nil))
	q := queue.New(rdb, &queue.Options{Now: r.clk.Now, Logger: quietLog})
	r.svc = dispatch.New(r.st, q, dispatchRenderer{}, &dispatch.Options{
		Vendors: map[string]configs.VendorConfig{"acme-movers": {
			Endpoint:    vendor.URL,
			Permissions: configs.PermissionSet{ServiceTypes: []string{"household_goods_move"}},
			Definitions: []configs.EventDefinition{{Company: "globex", ServiceType: "household_goods_move", Event: "order.submitted",
				Active: true, RequiredFields: []string{"fields.move_date"}, BlockIfMissing: true}},
			Pull: configs.PullConfig{Enabled: true, APIKeyEnv: "ACME_PULL_KEY"},
		}},
		AdapterEnv: &adapters.Env{LookupEnv: func(k string) (string, bool) {
			if k == "ACME_PULL_KEY" {
				return "s3cret-pull", true
			}
			return "", false
		}},
		Now: r.clk.Now, Logger: quietLog,
	})
	gin.SetMode(gin.TestMode)
	r.engine = gin.New()
	// A partner's static route beside the vendor parameter must not conflict.
	r.engine.POST("/partners/pruvan/workorders", func(c *gin.Context) { c.Status(204) })
	RegisterDispatch(r.engine.Group("/v1"), r.engine.Group("/partners"), r.svc)
	return r
}

func (r *dispatchRig) order(id string, fields map[string]model.Field) {
	r.t.Helper()
	o := &model.Order{ID: id, Partner: "acme-movers", Company: "globex", ServiceType: "household_goods_move",
		Status: model.StatusNew, Fields: fields, CreatedAt: time.Now().UTC()}
	testutil.Must(r.t, r.st.CreateOrder(context.Background(), o,
		&model.Event{ID: "c-" + id, Type: model.EventOrderCreated, Direction: model.DirectionIn, Protocol: model.ProtocolPlatform}))
}

func (r *dispatchRig) do(method, path, body string, hdr ...string) (int, map[string]any) {
	r.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := testutil.Serve(r.t, r.engine, req)
	var m map[string]any
	_ = json.Unmarshal(w.Body.Bytes(), &m)
	if w.Code >= 400 && !strings.HasPrefix(w.Header().Get("Content-Type"), "application/problem+json") {
		r.t.Errorf("%s %s = %d with Content-Type %q, want problem+json", method, path, w.Code, w.Header().Get("Content-Type"))
	}
	return w.Code, m
}

func TestDispatchHTTPSaveAndSendThenDeliveries(t *testing.T) {
	r := newDispatchRig(t)
	r.order("o1", map[string]model.Field{"move_date": {Value: "2026-12-01"}})
	code, body := r.do("POST", "/v1/orders/o1/send", "")
	if code != 202 || body["held"] != false {
		t.Fatalf("POST send = %d %v, want 202 not held", code, body)
	}
	ds := body["deliveries"].([]any)
	id := ds[0].(map[string]any)["id"].(string)
	if _, err := r.svc.DeliverDue(context.Background(), "acme-movers", 0); err != nil {
		t.Fatal(err)
	}
	code, body = r.do("GET", "/v1/orders/o1/deliveries", "")
	d := body["deliveries"].([]any)[0].(map[string]any)
	if code != 200 || d["id"] != id || d["status"] != "Success" || d["attempts"] != 1.0 || d["event"] != "order.submitted" {
		t.Fatalf("GET deliveries = %d %v, want the delivery as Success", code, body)
	}
	if code, _ := r.do("GET", "/v1/orders/nope/deliveries", ""); code != 404 {
		t.Errorf("GET deliveries of an unknown order = %d, want 404", code)
	}
}

func TestDispatchHTTPRefusalsAreProblems(t *testing.T) {
	r := newDispatchRig(t)
	r.order("nodate", nil)
	code, body := r.do("POST", "/v1/orders/nodate/send", "")
	errs, _ := body["errors"].([]any)
	if code != 422 || len(errs) != 1 || errs[0].(map[string]any)["field"] != "fields.move_date" {
		t.Fatalf("POST send without move_date = %d %v, want 422 naming fields.move_date", code, body)
	}
	code, body = r.do("POST", "/v1/orders/nodate/send", `{"communication":"fax"}`)
	if code != 422 || !strings.Contains(fmt.Sprint(body["detail"]), "does not accept the communication type fax (accepted: data)") {
		t.Fatalf("POST send fax = %d %v", code, body)
	}
	if code, body := r.do("POST", "/v1/orders/nodate/send", `{"bogus":1}`); code != 422 || !strings.Contains(fmt.Sprint(body["detail"]), "bogus") {
		t.Errorf("POST send with an unknown key = %d %v, want 422 naming it", code, body)
	}
	if code, _ := r.do("POST", "/v1/orders/missing/send", ""); code != 404 {
		t.Errorf("POST send of an unknown order = %d, want 404", code)
	}
}

func TestDispatchHTTPOfflineWindow(t *testing.T) {
	r := newDispatchRig(t)
	r.order("o1", map[string]model.Field{"move_date": {Value: "2026-12-01"}})
	if code, _ := r.do("GET", "/v1/vendors/acme-movers/offline-window", ""); code != 404 {
		t.Fatalf("GET window before any = %d, want 404", code)
	}
	end := time.Now().Add(2*time.Hour + 10*time.Minute).UTC().Format(time.RFC3339)
	code, body := r.do("PUT", "/v1/vendors/acme-movers/offline-window", `{"end":"`+end+`"}`)
	if code != 200 || body["active"] != true {
		t.Fatalf("PUT window = %d %v", code, body)
	}
	code, body = r.do("GET", "/v1/vendors/acme-movers/offline-window", "")
	if code != 200 || body["end"] != end {
		t.Fatalf("GET window = %d %v, want end %s", code, body, end)
	}
	code, body = r.do("POST", "/v1/orders/o1/send", `{"vendor":"acme-movers"}`)
	if code != 202 || body["held"] != true || !strings.Contains(fmt.Sprint(body["notice"]), "maintenance is complete in 2h") ||
		!strings.HasPrefix(fmt.Sprint(body["remaining"]), "2h") {
		t.Fatalf("POST send during the window = %d %v, want held with the notice", code, body)
	}
	code, body = r.do("GET", "/v1/orders/o1/deliveries", "")
	d := body["deliveries"].([]any)[0].(map[string]any)
	if d["status"] != "Sending" || d["held_until"] == nil {
		t.Fatalf("delivery during window = %v, want Sending with held_until", d)
	}
	if code, _ := r.do("PUT", "/v1/vendors/acme-movers/offline-window", `{"start":"2030-01-02T00:00:00Z","end":"2030-01-01T00:00:00Z"}`); code != 422 {
		t.Errorf("PUT window ending before it starts = %d, want 422", code)
	}
	if code, _ := r.do("PUT", "/v1/vendors/acme-movers/offline-window", `{}`); code != 422 {
		t.Errorf("PUT window without end = %d, want 422", code)
	}
	if code, _ := r.do("PUT", "/v1/vendors/nobody/offline-window", `{"end":"`+end+`"}`); code != 404 {
		t.Errorf("PUT window of an unknown vendor = %d, want 404", code)
	}
	if code, _ := r.do("DELETE", "/v1/vendors/acme-movers/offline-window", ""); code != 204 {
		t.Fatalf("DELETE window = %d, want 204", code)
	}
	if code, _ := r.do("DELETE", "/v1/vendors/acme-movers/offline-window", ""); code != 404 {
		t.Errorf("second DELETE window = %d, want 404", code)
	}
	if n, _ := r.svc.DeliverDue(context.Background(), "acme-movers", 0); n != 1 {
		t.Errorf("DeliverDue after cancel = %d, want 1", n)
	}
}

func TestDispatchHTTPDeadLettersAndReplay(t *testing.T) {
	r := newDispatchRig(t)
	r.order("o1", map[string]model.Field{"move_date": {Value: "2026-12-01"}})
	_, body := r.do("POST", "/v1/orders/o1/send", "")
	id := body["deliveries"].([]any)[0].(map[string]any)["id"].(string)
	r.status = 400
	r.svc.DeliverDue(context.Background(), "acme-movers", 0)
	code, body := r.do("GET", "/v1/vendors/acme-movers/dead-letters", "")
	dl, _ := body["dead_letters"].([]any)
	if code != 200 || len(dl) != 1 || dl[0].(map[string]any)["id"] != id || dl[0].(map[string]any)["status"] != "Failure" {
		t.Fatalf("GET dead-letters = %d %v", code, body)
	}
	if code, _ := r.do("GET", "/v1/vendors/acme-movers/dead-letters?limit=x", ""); code != 422 {
		t.Errorf("GET dead-letters?limit=x = %d, want 422", code)
	}
	r.status = 200
	code, body = r.do("POST", "/v1/deliveries/"+id+"/replay", "")
	if code != 202 || body["status"] != "Sending" {
		t.Fatalf("POST replay = %d %v", code, body)
	}
	if code, _ := r.do("POST", "/v1/deliveries/"+id+"/replay", ""); code != 409 {
		t.Errorf("second POST replay = %d, want 409 (not dead)", code)
	}
	if code, _ := r.do("POST", "/v1/deliveries/dlv_unknown/replay", ""); code != 404 {
		t.Errorf("POST replay of an unknown delivery = %d, want 404", code)
	}
	r.svc.DeliverDue(context.Background(), "acme-movers", 0)
	_, body = r.do("GET", "/v1/orders/o1/deliveries", "")
	if s := body["deliveries"].([]any)[0].(map[string]any)["status"]; s != "Success" {
		t.Fatalf("status after replay = %v, want Success", s)
	}
	code, body = r.do("POST", "/v1/vendors/acme-movers/dead-letters/replay", "")
	if code != 202 || body["replayed"] != 0.0 {
		t.Errorf("POST dead-letters/replay = %d %v, want 0 replayed", code, body)
	}
}

func TestDispatchHTTPPullIsVendorAuthenticated(t *testing.T) {
	r := newDispatchRig(t)
	r.order("o1", map[string]model.Field{"move_date": {Value: "2026-12-01"}})
	r.do("POST", "/v1/orders/o1/send", "")
	for _, hdr := range [][]string{nil, {"X-Api-Key", "wrong"}, {"Authorization", "Bearer s3cret-pul"}} {
		if code, _ := r.do("GET", "/partners/acme-movers/orders", "", hdr...); code != 401 {
			t.Errorf("GET pull with %v = %d, want 401", hdr, code)
		}
	}
	if code, _ := r.do("GET", "/partners/nobody/orders", "", "X-Api-Key", "s3cret-pull"); code != 401 {
		t.Errorf("GET pull of an unknown vendor = %d, want 401", code)
	}
	code, body := r.do("GET", "/partners/acme-movers/orders", "", "X-Api-Key", "s3cret-pull")
	orders, _ := body["orders"].([]any)
	if code != 200 || len(orders) != 1 || orders[0].(map[string]any)["order"] != "o1" || body["cursor"] == "0" {
		t.Fatalf("GET pull = %d %v, want o1 and a cursor", code, body)
	}
	cursor := body["cursor"].(string)
	code, body = r.do("POST", "/partners/acme-movers/orders/ack", `{"cursor":"`+cursor+`"}`, "Authorization", "Bearer s3cret-pull")
	if code != 200 || body["cursor"] != cursor {
		t.Fatalf("POST ack = %d %v", code, body)
	}
	_, body = r.do("GET", "/partners/acme-movers/orders", "", "X-Api-Key", "s3cret-pull")
	if orders, _ := body["orders"].([]any); len(orders) != 0 {
		t.Errorf("GET pull after ack = %v, want nothing new", body)
	}
	if code, _ := r.do("POST", "/partners/acme-movers/orders/ack", "", "X-Api-Key", "s3cret-pull"); code != 422 {
		t.Errorf("POST ack without cursor = %d, want 422", code)
	}
	if code, _ := r.do("POST", "/partners/pruvan/workorders", ""); code != 204 {
		t.Errorf("static partner route beside the pull routes = %d, want 204", code)
	}
}

func TestDispatchOpenAPIPathsMatchTheRoutes(t *testing.T) {
	r := newDispatchRig(t)
	paths := DispatchOpenAPIPaths()
	for _, rt := range r.engine.Routes() {
		if rt.Path == "/partners/pruvan/workorders" {
			continue
		}
		p := rt.Path
		for _, name := range []string{"id", "vendor"} {
			p = strings.ReplaceAll(p, ":"+name, "{"+name+"}")
		}
		item, ok := paths[p].(map[string]any)
		if !ok || item[strings.ToLower(rt.Method)] == nil {
			t.Errorf("route %s %s is not described in DispatchOpenAPIPaths", rt.Method, rt.Path)
		}
	}
}

// TestDispatchHTTPListDeliveries: an operator lists one vendor's deliveries
// by status, newest first, page by page.
func TestDispatchHTTPListDeliveries(t *testing.T) {
	r := newDispatchRig(t)
	ids := map[string]string{} // order -> delivery id
	send := func(order string) {
		r.order(order, map[string]model.Field{"move_date": {Value: "2026-12-01"}})
		_, body := r.do("POST", "/v1/orders/"+order+"/send", "")
		ids[order] = body["deliveries"].([]any)[0].(map[string]any)["id"].(string)
		r.clk.Advance(5 * time.Millisecond)
	}
	send("o1")
	send("o2")
	r.svc.DeliverDue(context.Background(), "acme-movers", 0) // o1, o2: Success
	r.status = 400
	send("o3")
	r.svc.DeliverDue(context.Background(), "acme-movers", 0) // o3: Failure
	send("o4")                                               // o4: still Sending

	list := func(query string) (int, []string, string) {
		t.Helper()
		code, body := r.do("GET", "/v1/deliveries?"+query, "")
		var got []string
		ds, _ := body["deliveries"].([]any)
		for _, d := range ds {
			got = append(got, d.(map[string]any)["id"].(string))
		}
		cur, _ := body["next_cursor"].(string)
		return code, got, cur
	}
	if code, got, cur := list("vendor=acme-movers"); code != 200 || fmt.Sprint(got) != fmt.Sprint([]string{ids["o4"], ids["o3"], ids["o2"], ids["o1"]}) || cur != "" {
		t.Fatalf("GET /v1/deliveries?vendor=acme-movers = %d %v cursor %q, want o4..o1 newest first, no cursor", code, got, cur)
	}
	for status, want := range map[string]string{"Failure": ids["o3"], "Sending": ids["o4"]} {
		if code, got, _ := list("vendor=acme-movers&status=" + status); code != 200 || len(got) != 1 || got[0] != want {
			t.Errorf("GET /v1/deliveries status=%s = %d %v, want [%s]", status, code, got, want)
		}
	}
	if _, got, _ := list("vendor=acme-movers&status=Success"); fmt.Sprint(got) != fmt.Sprint([]string{ids["o2"], ids["o1"]}) {
		t.Errorf("GET /v1/deliveries status=Success = %v, want o2, o1", got)
	}
	// Pages of two: every delivery once, in the same order.
	var paged []string
	cur := ""
	for i := 0; i < 5; i++ {
		q := "vendor=acme-movers&limit=2"
		if cur != "" {
			q += "&cursor=" + url.QueryEscape(cur)
		}
		code, got, next := list(q)
		if code != 200 {
			t.Fatalf("GET /v1/deliveries?%s = %d", q, code)
		}
		paged = append(paged, got...)
		if cur = next; cur == "" {
			break
		}
	}
	if fmt.Sprint(paged) != fmt.Sprint([]string{ids["o4"], ids["o3"], ids["o2"], ids["o1"]}) {
		t.Errorf("paging by 2 gave %v, want o4..o1 once each", paged)
	}
	for query, want := range map[string]int{
		"":                               422, // vendor is required
		"vendor=nobody":                  404,
		"vendor=acme-movers&status=Lost": 422,
		"vendor=acme-movers&limit=0":     422,
		"vendor=acme-movers&cursor=junk": 422,
	} {
		if code, body := r.do("GET", "/v1/deliveries?"+query, ""); code != want {
			t.Errorf("GET /v1/deliveries?%s = %d %v, want %d", query, code, body, want)
		}
	}
}

// TestDispatchHTTPOfflineWindowETagAndAudit: a window change is refused when
// the caller's If-Match is stale, and every change reaches the audit trail.
func TestDispatchHTTPOfflineWindowETagAndAudit(t *testing.T) {
	r := newDispatchRig(t)
	var trail []string
	r.engine = gin.New()
	RegisterDispatch(r.engine.Group("/v1"), r.engine.Group("/partners"), r.svc,
		func(_ *gin.Context, action, kind, key string, before, after any) {
			trail = append(trail, fmt.Sprintf("%s %s %s before=%v after=%v", action, kind, key, before != nil, after != nil))
		})
	etagOf := func(method, path, body string, hdr ...string) (int, string) {
		t.Helper()
		var rd io.Reader
		if body != "" {
			rd = strings.NewReader(body)
		}
		req := httptest.NewRequest(method, path, rd)
		req.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		w := testutil.Serve(r.t, r.engine, req)
		return w.Code, w.Header().Get("ETag")
	}
	const path = "/v1/vendors/acme-movers/offline-window"
	end1 := time.Now().Add(3 * time.Hour).UTC().Format(time.RFC3339)
	end2 := time.Now().Add(1 * time.Hour).UTC().Format(time.RFC3339)
	code, tag1 := etagOf("PUT", path, `{"end":"`+end1+`"}`, "If-Match", `"none"`)
	if code != 200 || tag1 == "" {
		t.Fatalf("PUT a first window with If-Match \"none\" = %d ETag %q, want 200 with an ETag", code, tag1)
	}
	if code, tag := etagOf("GET", path, ""); code != 200 || tag != tag1 {
		t.Fatalf("GET window = %d ETag %q, want the PUT's %q", code, tag, tag1)
	}
	code, tag2 := etagOf("PUT", path, `{"end":"`+end2+`"}`, "If-Match", tag1) // shorten, as read
	if code != 200 || tag2 == tag1 {
		t.Fatalf("PUT a shorter window with the current ETag = %d ETag %q", code, tag2)
	}
	if code, _ := etagOf("PUT", path, `{"end":"`+end1+`"}`, "If-Match", tag1); code != 412 {
		t.Errorf("PUT with a stale If-Match = %d, want 412", code)
	}
	if code, _ := etagOf("DELETE", path, "", "If-Match", tag1); code != 412 {
		t.Errorf("DELETE with a stale If-Match = %d, want 412", code)
	}
	if code, _ := etagOf("DELETE", path, "", "If-Match", tag2); code != 204 {
		t.Errorf("DELETE with the current If-Match = %d, want 204", code)
	}
	want := []string{
		"create offline-window acme-movers before=false after=true",
		"update offline-window acme-movers before=true after=true",
		"delete offline-window acme-movers before=true after=false",
	}
	if fmt.Sprint(trail) != fmt.Sprint(want) {
		t.Errorf("audit trail = %q, want %q", trail, want)
	}
}
