package partners

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/gjson"

	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

// TestPartnersBadInput sends each kind of bad input to each partner and
// checks the 4xx comes in that partner's answer format and nothing is stored.
func TestPartnersBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, &Options{MaxBodyBytes: 64 << 10, MaxDepth: 8})
		order := extendOrder(t, b, "repair_depot", true, false)
		ordersBefore := b.count(t)
		huge := bytes.Repeat([]byte(" "), 70<<10)
		smallThenTail := append([]byte(`{"workOrders":[]}`), append(huge, 'x')...)
		deep := strings.Repeat(`{"a":`, 9) + `1` + strings.Repeat(`}`, 9)
		type target struct {
			name   string
			url    string
			header map[string]string
			valid  string
			check  func(t *testing.T, code int, ct string, body []byte)
		}
		pruvanShape := func(t *testing.T, code int, ct string, body []byte) {
			m := jsonOf(t, body)
			if c, u, d, errs := counts(t, m); c+u+d != 0 || len(errs) != 1 {
				t.Fatalf("answer %s, want Pruvan's shape with zero counts and one error", body)
			}
		}
		problemShape := func(t *testing.T, code int, ct string, body []byte) {
			m := jsonOf(t, body)
			if ct != "application/problem+json" || m["status"] != float64(code) || m["detail"] == "" {
				t.Fatalf("answer %s (%s), want problem+json with status %d and a detail", body, ct, code)
			}
		}
		ackShape := func(t *testing.T, code int, ct string, body []byte) {
			a := gjson.ParseBytes(body)
			if a.Get("Task.Verb").String() != "Ack" || a.Get("Task.Body.StatusCode").Int() != int64(code) || a.Get("Signature").String() == "" {
				t.Fatalf("answer %s, want a signed Ack with StatusCode %d", body, code)
			}
		}
		targets := []target{
			{"pruvan", pruvanURL(pruvanKey), nil, pruvanUpdate, pruvanShape},
			{"extend", "/partners/extend/service-orders/" + order + "/update-repair", map[string]string{"X-Extend-Access-Token": extendKey},
				`{"event":"repair_started","repairStartedAt":1700000000}`, problemShape},
			{"emg", "/partners/emg/messages", nil, "", ackShape},
		}
		cases := []struct {
			name string
			ct   string
			body []byte
			code int
			say  string
		}{
			{"wrong content type", "text/plain", []byte(`{}`), 415, "content type"},
			{"no content type", "", []byte(`{}`), 415, "content type"},
			{"malformed JSON", "application/json", []byte(`{"workOrders":[`), 400, "malformed JSON"},
			{"empty body", "application/json", nil, 400, "empty"},
			{"small object then a huge tail", "application/json", smallThenTail, 413, "limit"},
			{"small object then garbage", "application/json", []byte(`{"event":"x"} {"event":"y"}`), 400, "more than one JSON value (more data at byte offset 14)"},
			{"invalid UTF-8 in a value", "application/json", []byte("{\"event\":\"U\xff1\"}"), 400, "invalid UTF-8 at byte offset 11"},
			{"invalid UTF-8 in a member name", "application/json", []byte("{\"ev\xfeent\":1}"), 400, "invalid UTF-8 at byte offset 4"},
			{"truncated UTF-8 sequence", "application/json", []byte("{\"event\":\"\xe2\x82\"}"), 400, "invalid UTF-8 at byte offset 10"},
			{"oversized body", "application/json", append(append([]byte(`{"a":"`), bytes.Repeat([]byte("x"), 65<<10)...), '"', '}'), 413, "limit"},
			{"duplicate member", "application/json", []byte(`{"event":"repair_started","event":"resolved"}`), 400, "duplicate member"},
			{"nested too deep", "application/json", []byte(deep), 400, "deeper"},
		}
		for _, tg := range targets {
			for _, c := range cases {
				t.Run(tg.name+"/"+c.name, func(t *testing.T) {
					code, ct, body := r.do(http.MethodPost, tg.url, c.ct, c.body, tg.header)
					if code != c.code {
						t.Fatalf("POST = %d %s, want %d", code, body, c.code)
					}
					if !strings.Contains(string(body), c.say) {
						t.Fatalf("answer %s does not say %q", body, c.say)
					}
					tg.check(t, code, ct, body)
					if n := b.count(t); n != ordersBefore {
						t.Fatalf("orders %d -> %d after bad input", ordersBefore, n)
					}
					if n := len(inboundEvents(b.events(t, order))); n != 0 {
						t.Fatalf("%d inbound events after bad input, want 0", n)
					}
				})
			}
		}
	})
}

func TestPartnersAuthFailureRecordsNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *backend) {
		r := newRig(t, b, nil, nil)
		order := extendOrder(t, b, "repair_depot", true, false)
		before := b.count(t)
		cases := []struct {
			name   string
			url    string
			header map[string]string
			body   string
			shape  string
		}{
			{"pruvan wrong key", pruvanURL("wrong"), nil, pruvanCreate, "response"},
			{"pruvan key in the wrong parameter", "/partners/pruvan/workorders?apikey=" + pruvanKey, nil, pruvanCreate, "response"},
			{"extend wrong token", "/partners/extend/service-orders/" + order + "/update-repair", map[string]string{"X-Extend-Access-Token": "nope"},
				`{"event":"repair_started","repairStartedAt":1700000000}`, "status"},
			{"extend token in the query", "/partners/extend/service-orders/" + order + "/update-repair?X-Extend-Access-Token=" + extendKey, nil,
				`{"event":"repair_started","repairStartedAt":1700000000}`, "status"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				code, _, body := r.do(http.MethodPost, c.url, "application/json", []byte(c.body), c.header)
				if code != 401 || !gjson.GetBytes(body, c.shape).Exists() || !strings.Contains(string(body), "authentication failed") {
					t.Fatalf("POST = %d %s, want 401 in the partner's shape (%s)", code, body, c.shape)
				}
				if n := b.count(t); n != before {
					t.Fatalf("orders %d -> %d after a failed check", before, n)
				}
				if n := len(inboundEvents(b.events(t, order))); n != 0 {
					t.Fatalf("%d inbound events after a failed check", n)
				}
			})
		}
		if strings.Contains(r.logs.String(), pruvanKey) || strings.Contains(r.logs.String(), extendKey) {
			t.Fatal("a credential reached the log")
		}
	})
}

func TestPartnersDisabledWithoutCredentials(t *testing.T) {
	ks := newKeyset(t)
	env := fullEnv(ks)
	delete(env, "PRUVAN_API_KEY")
	env["EMG_SIGNING_KEY_FILE"] = filepath.Join(ks.dir, "missing.pem")
	r := newRig(t, newFakeBackend(t), env, nil)
	st := r.set.Status()
	if st["pruvan"].Enabled || !strings.Contains(st["pruvan"].Reason, "PRUVAN_API_KEY is not set") {
		t.Fatalf("Status()[pruvan] = %+v, want disabled because PRUVAN_API_KEY is not set", st["pruvan"])
	}
	if st["emg"].Enabled || !strings.Contains(st["emg"].Reason, "EMG_SIGNING_KEY_FILE") {
		t.Fatalf("Status()[emg] = %+v, want disabled naming EMG_SIGNING_KEY_FILE", st["emg"])
	}
	if !st["extend"].Enabled {
		t.Fatalf("Status()[extend] = %+v, want enabled", st["extend"])
	}
	code, _, body := r.do(http.MethodPost, pruvanURL("anything"), "application/json", []byte(pruvanCreate), nil)
	if code != 404 {
		t.Fatalf("POST to a disabled partner = %d %s, want 404", code, body)
	}
	if code, _, _ := r.do(http.MethodPost, "/partners/emg/messages", "application/json", []byte(`{}`), nil); code != 404 {
		t.Fatalf("POST to disabled emg = %d, want 404", code)
	}
	res := r.set.Check(context.Background())
	if !res.OK || !strings.Contains(res.Warn, "pruvan: not configured: PRUVAN_API_KEY is not set") {
		t.Fatalf("Check() = %+v, want OK with a warning naming pruvan's missing variable", res)
	}
	paths := r.set.OpenAPIPaths()
	op := paths["/partners/pruvan/workorders"].(map[string]any)["post"].(map[string]any)
	if op["x-partner-enabled"] != false || !strings.Contains(op["description"].(string), "PRUVAN_API_KEY") {
		t.Fatalf("OpenAPI pruvan = %v, want it marked disabled with the reason", op)
	}
	// Credentials arrive: Refresh enables the partner without a restart.
	env["PRUVAN_API_KEY"] = pruvanKey
	r.set.Refresh()
	if code, m := r.pruvan(pruvanCreate); code != 200 {
		t.Fatalf("POST after Refresh = %d %v, want 200", code, m)
	}
}

func TestPartnersDevSourceWarning(t *testing.T) {
	ks := newKeyset(t)
	env := fullEnv(ks)
	delete(env, "EMG_SOURCE_ID")
	r := newRig(t, newFakeBackend(t), env, nil)
	st := r.set.Status()["emg"]
	if !st.Enabled || len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "EMG_SOURCE_ID is not set") {
		t.Fatalf("Status()[emg] = %+v, want enabled with a warning about the development Source", st)
	}
	// The seed's Source is accepted.
	if code, ack := r.emg(r.emgEnvelope(emgTask("cccccccc-0000-0000-0000-000000000001", "Create", "TroubleTicket.ManagedService", emgCreateBody))); code != 201 {
		t.Fatalf("Ack = %d %s, want 201", code, ack.Raw)
	}
	// An installation's own Source replaces it.
	env["EMG_SOURCE_ID"] = "9b2f3c1e-0000-4000-8000-000000000001"
	r.set.Refresh()
	if code, ack := r.emg(r.emgEnvelope(emgTask("cccccccc-0000-0000-0000-000000000002", "Create", "TroubleTicket.ManagedService", emgCreateBody))); code != 403 {
		t.Fatalf("Ack = %d %s, want 403 for the seed's Source once EMG_SOURCE_ID is set", code, ack.Raw)
	}
}

func TestPartnersOpenAPI(t *testing.T) {
	r := newRig(t, newFakeBackend(t), nil, nil)
	paths := r.set.OpenAPIPaths()
	for _, p := range []string{"/partners/pruvan/workorders", "/partners/extend/service-orders/{id}/update-repair", "/partners/emg/messages"} {
		item, ok := paths[p].(map[string]any)
		if !ok || item["post"] == nil {
			t.Fatalf("OpenAPIPaths() has no POST %s (paths: %v)", p, paths)
		}
	}
	ext := paths["/partners/extend/service-orders/{id}/update-repair"].(map[string]any)["post"].(map[string]any)
	params := string(mustJSON(ext["parameters"]))
	if !strings.Contains(params, `"in":"path","name":"id"`) || !strings.Contains(params, `"in":"header","name":"X-Extend-Access-Token"`) {
		t.Fatalf("extend parameters = %s, want the id path parameter and the token header", params)
	}
	pru := paths["/partners/pruvan/workorders"].(map[string]any)["post"].(map[string]any)
	if !strings.Contains(string(mustJSON(pru["requestBody"])), "application/x-www-form-urlencoded") {
		t.Fatalf("pruvan requestBody = %v, want the form content type too", pru["requestBody"])
	}
}

// failingSink fails every commit as Redis being down would.
type failingSink struct{}

func (failingSink) Commit(context.Context, *model.Inbound) (*model.Outcome, error) {
	return nil, errors.New("redis: connection refused")
}

func TestPartnersStoreDownAnswers503(t *testing.T) {
	r := newRig(t, &backend{name: "down", sink: failingSink{}}, nil, nil)
	code, m := r.pruvan(pruvanCreate)
	if _, _, _, errs := counts(t, m); code != 503 || len(errs) != 1 || strings.Contains(string(mustJSON(m)), "connection refused") {
		t.Fatalf("pruvan = %d %v, want 503 with one error and no internal detail", code, m)
	}
	code, ack := r.emg(r.emgEnvelope(emgTask("dddddddd-0000-0000-0000-000000000001", "Create", "TroubleTicket.ManagedService", emgCreateBody)))
	if code != 503 {
		t.Fatalf("emg = %d %s, want a 503 Ack", code, ack.Raw)
	}
}

func TestMappingHeadersDropCredentials(t *testing.T) {
	h := http.Header{}
	h.Set("X-Extend-Access-Token", "secret-token")
	h.Set("Authorization", "Basic eDp5")
	h.Set("Cookie", "s=1")
	h.Set("X-Request-Id", "r1")
	got := mappingHeaders(h, &mappings.Auth{Kind: "apikey", Header: "x-extend-access-token"})
	if len(got) != 1 || got["X-Request-Id"] != "r1" {
		t.Fatalf("mappingHeaders() = %v, want only X-Request-Id", got)
	}
}

func TestPartnersMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	r := newRig(t, newFakeBackend(t), nil, &Options{Registerer: reg})
	r.pruvan(pruvanCreate)
	r.pruvan(pruvanCreate)
	r.do(http.MethodPost, pruvanURL("wrong"), "application/json", []byte(pruvanCreate), nil)
	got := map[string]float64{}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := mf.GetName()
			for _, l := range m.GetLabel() {
				key += " " + l.GetName() + "=" + l.GetValue()
			}
			got[key] = m.GetCounter().GetValue()
		}
	}
	want := map[string]float64{
		"gateway_partner_auth_failures_total partner=pruvan reason=bad credential": 1,
		"gateway_partner_items_total kind=create outcome=created partner=pruvan":   1,
		"gateway_partner_items_total kind=create outcome=duplicate partner=pruvan": 1,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("metric %s = %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}
