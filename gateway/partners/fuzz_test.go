package partners

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/equus/sogateway/internal/model"
)

// The fuzz tests drive each partner endpoint's parsing with valid
// credentials, so inputs reach the body checks, the mapping and the sink.
// Whatever the input, the answer is a 2xx or 4xx in the partner's format:
// never a 5xx, a panic or another shape.

func FuzzPartnerPruvan(f *testing.F) {
	base := newRig(f, newFakeBackend(nil), nil, nil)
	for _, s := range []string{pruvanCreate, pruvanUpdate, `{"workOrders":[]}`, `{"workOrders":{}}`, `[]`, `{"workOrders":[null,1,"x"]}`,
		`{"workOrders":[{"workOrderNumber":7,"address1":1}]}`, `{"workOrders":[{"workOrderNumber":"A","status":"RUSH"}]}`} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte("workOrders=%5B%5D"), true)
	f.Add([]byte("workOrders=%7B%22workOrders%22%3A%5B%7B%7D%5D%7D"), true)
	f.Fuzz(func(t *testing.T, body []byte, form bool) {
		r := base.withT(t)
		ct := "application/json"
		if form {
			ct = "application/x-www-form-urlencoded"
		}
		code, rct, out := r.do(http.MethodPost, pruvanURL(pruvanKey), ct, body, nil)
		if code >= 500 || !strings.HasPrefix(rct, "application/json") {
			t.Fatalf("POST %q = %d %s %s", body, code, rct, out)
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Fatalf("answer %q is not JSON", out)
		}
		counts(t, m)
		if code != 200 && m["error"] == nil {
			t.Fatalf("answer %d %s has no error", code, out)
		}
	})
}

func FuzzPartnerExtend(f *testing.F) {
	b := newFakeBackend(nil)
	base := newRig(f, b, nil, nil)
	accepted := time.Now()
	depot := b.create(nil, &model.Order{Partner: "extend", ServiceType: "repair_depot", AcceptedAt: &accepted})
	for _, s := range []string{`{"event":"repair_started","repairStartedAt":1700000000}`, `{"event":"batched","availabilityWindows":[1,2]}`,
		`{"event":"x","metadata":{"a":[1,{"b":null}]}}`, `{"event":null}`, `{}`, `[]`, `"x"`, `{"event":"repair_eta","isDelayed":"no"}`} {
		f.Add([]byte(s), depot.ID)
	}
	f.Fuzz(func(t *testing.T, body []byte, id string) {
		r := base.withT(t)
		if id == "" || id == "." || id == ".." || strings.Contains(id, "/") {
			// Not one path segment: the route does not match (gin's own 404).
			id = depot.ID
		}
		code, ct, out := r.do(http.MethodPost, "/partners/extend/service-orders/"+url.PathEscape(id)+"/update-repair", "application/json", body,
			map[string]string{"X-Extend-Access-Token": extendKey})
		switch {
		case code >= 500:
			t.Fatalf("POST %q = %d %s", body, code, out)
		case code >= 400 && (ct != "application/problem+json" || gjson.GetBytes(out, "status").Int() != int64(code)):
			t.Fatalf("POST %q = %d %s %s, want problem+json", body, code, ct, out)
		case code < 400 && gjson.GetBytes(out, "order_id").String() != id:
			t.Fatalf("POST %q = %d %s, want the order id", body, code, out)
		}
	})
}

func FuzzPartnerEMG(f *testing.F) {
	base := newRig(f, newFakeBackend(nil), nil, nil)
	for _, s := range []string{
		emgTask("f0000000-0000-0000-0000-000000000001", "Create", "TroubleTicket.ManagedService", emgCreateBody),
		emgTask("f0000000-0000-0000-0000-000000000002", "Update", "BreakFix", `{"RequestorId":"123456789","State":"Closed"}`),
		emgTask("f0000000-0000-0000-0000-000000000003", "Update", "SmartHands", `{"ServicerId":"1-1","State":"InProgress","SubState":"Pending Expedite Negotiation"}`),
		`{}`, `[]`, `null`, `"x"`, `{"Id":1}`, `{"Id":"a","Source":"` + testSource + `"}`,
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, task string, asString bool) {
		r := base.withT(t)
		taskField := task
		if asString {
			q, _ := json.Marshal(task)
			taskField = string(q)
		}
		body := `{"Task":` + taskField + `,"Signature":"` + signTask(t, r.ks.partner, task) + `"}`
		code, _, out := r.do(http.MethodPost, "/partners/emg/messages", "application/json", []byte(body), nil)
		if code >= 500 {
			t.Fatalf("POST %q = %d %s", body, code, out)
		}
		a := gjson.ParseBytes(out)
		if code == 404 && a.Get("type").Exists() {
			return // not reachable: emg is enabled
		}
		if a.Get("Task.Verb").String() != "Ack" || a.Get("Task.Body.StatusCode").Int() != int64(code) || a.Get("Signature").String() == "" {
			t.Fatalf("POST %q = %d %s, want a signed Ack with StatusCode %d", body, code, out, code)
		}
	})
}

func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1,"a":2}`, `[[[[1]]]]`, `{"a":{"b":{"c":[1,2,{"d":null}]}}}`, `1 2`, `"\u0000"`, `{"a":1}   `, `{"\u0061":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := CheckJSON(b, 4)
		if err == nil && !json.Valid(b) {
			t.Fatalf("CheckJSON(%q) = nil but encoding/json says invalid", b)
		}
		if err != nil && json.Valid(b) && !strings.Contains(err.Error(), "duplicate member") && !strings.Contains(err.Error(), "deeper than") &&
			!(strings.Contains(err.Error(), "invalid UTF-8") && !utf8.Valid(b)) {
			t.Fatalf("CheckJSON(%q) = %v, but it is valid JSON", b, err)
		}
	})
}
