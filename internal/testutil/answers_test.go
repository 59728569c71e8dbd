package testutil

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAnswerLeak(t *testing.T) {
	cases := []struct {
		body string
		leak bool
	}{
		{`{"detail":"dispatch: vendor \"x\": unknown vendor: not found"}`, true},
		{`{"error":"adapters: post: adapters: 503"}`, true},
		{`store: order exists`, true},
		{`{"detail":"json: cannot unmarshal string into Go value of type int"}`, true},
		{`field solution (rule ssp7.yaml:106, field solution)`, true},
		{`warning (emg.yaml:200)`, true},
		{`<faultstring>inbound: partner ssp7: mapping not loaded</faultstring>`, true},
		{`{"detail":"%!v(MISSING)"}`, true},
		{`{"reason":"\"28/05/2020\" does not match the layout \"2006-01-02 1504 -0700\""}`, true},
		{`{"reason":"\"28/05/2020\" is not a time of the form YYYY-MM-DD hhmm ±hhmm"}`, false},
		{`"warning":"disabled partners: emg: not configured"`, false},
		{`{"detail":"vendor \"x\" is not a vendor of this gateway"}`, false},
		{`{"store":1,"dispatch":"ok"}`, false},
		{`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`, false},
		{`Mail: 3 in quarantine; Partner: ssp7`, false},
		{`see https://example.com/store: no`, false},
	}
	for _, c := range cases {
		if got := AnswerLeak([]byte(c.body)); (got != "") != c.leak {
			t.Errorf("AnswerLeak(%s) = %q, want a leak: %v", c.body, got, c.leak)
		}
	}
}

func TestAnswerLeakExplain(t *testing.T) {
	trace := []byte(`{"rule": "ssp7.yaml:117", "from": "correlation"}`)
	if got := leakIn("/console/mappings/playground", trace); got != "" {
		t.Errorf("leakIn(playground, trace) = %q, want none: the explain trace names rules", got)
	}
	if got := leakIn("/v1/orders/o1", trace); got == "" {
		t.Errorf("leakIn(/v1/orders/o1, trace) = none, want the position")
	}
	if got := leakIn("/console/mappings/playground", []byte(`<p>mappings: ssp7: oops</p>`)); got == "" {
		t.Errorf("leakIn(playground, prefix) = none, want the prefix")
	}
}

func TestAnswerTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"detail":"store: update order o1: NOTFOUND"}`)
	}))
	defer srv.Close()
	leaksMu.Lock()
	before := len(leaks)
	leaksMu.Unlock()
	c := &http.Client{Transport: answerTransport{base: http.DefaultTransport}}
	resp, err := c.Get(srv.URL + "/v1/orders/o1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != `{"detail":"store: update order o1: NOTFOUND"}` {
		t.Fatalf("body = %s, want it passed through unchanged", body)
	}
	leaksMu.Lock()
	got := leaks[before:]
	leaks = leaks[:before] // this leak was planted
	leaksMu.Unlock()
	if len(got) != 1 {
		t.Fatalf("recorded leaks = %q, want the one planted", got)
	}
}
