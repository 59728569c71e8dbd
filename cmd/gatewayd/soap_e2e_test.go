package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/equus/sogateway/internal/testutil"
)

// TestBinarySOAPWithRealClients drives the served WorkflowService.asmx of the
// real binary with clients we did not write — Python zeep and PHP SoapClient —
// over SOAP 1.1 and 1.2 with HTTP Basic and WS-Security (text and digest), and
// checks each call landed as a canonical event on the task's order.
func TestBinarySOAPWithRealClients(t *testing.T) {
	testutil.RequireIntegration(t, "/usr/bin/python3", "php")
	srv := testutil.StartRedis(t)
	g := startGateway(t, "REDIS_URL="+srv.URL(), "SSP7_SOAP_USER=legacy", "SSP7_SOAP_PASSWORD=s3cret-pw")
	clients := []struct{ name, bin, script string }{
		{"zeep", "/usr/bin/python3", "../../soap/testdata/zeep_client.py"},
		{"php", "php", "../../soap/testdata/php_client.php"},
	}
	wsdl := g.URL + "/Workflow/WebService/WorkflowService.asmx?WSDL"
	n := 0
	for _, c := range clients {
		for _, version := range []string{"1.1", "1.2"} {
			for _, auth := range []string{"basic", "wsse-text", "wsse-digest"} {
				t.Run(c.name+"/"+version+"/"+auth, func(t *testing.T) {
					n++
					task := fmt.Sprintf("T-%d", 5000+n)
					code, _, o := do(t, "POST", g.URL+"/v1/orders", fmt.Sprintf(`{"partner":"ssp7","refs":{"requestor":%q}}`, task))
					if code != 201 {
						t.Fatalf("create task order = %d %v", code, o)
					}
					out, err := exec.Command(c.bin, c.script, wsdl, version, auth, "legacy", "s3cret-pw", task).CombinedOutput()
					if err != nil {
						t.Fatalf("%s client failed: %v\n%s", c.name, err, out)
					}
					var res map[string]any
					if err := json.Unmarshal(out[strings.LastIndex(string(out), "\n{")+1:], &res); err != nil {
						t.Fatalf("%s output is not JSON: %v\n%s", c.name, err, out)
					}
					if !strings.Contains(string(out), o["id"].(string)) {
						t.Errorf("results %s do not carry the order id %s", out, o["id"])
					}
					if f := fmt.Sprint(res); !strings.Contains(strings.ToLower(f), "unknown") && !strings.Contains(strings.ToLower(f), "not found") {
						t.Errorf("the call for an unknown task did not fault clearly: %s", out)
					}
					if st := res["unknown_task_fault_status"]; st != float64(500) {
						t.Errorf("the unknown task's fault came with HTTP %v, want 500 (WCF reads faults only from a 500)", st)
					}
					_, _, evs := do(t, "GET", g.URL+"/v1/orders/"+o["id"].(string)+"/events", "")
					var types []string
					for _, e := range evs["events"].([]any) {
						ev := e.(map[string]any)
						types = append(types, ev["type"].(string))
						if ev["type"] != "order.created" && ev["protocol"] != "soap" {
							t.Errorf("event %v has protocol %v, want soap", ev["type"], ev["protocol"])
						}
					}
					want := "order.created order.acknowledged order.message order.reassigned"
					if strings.Join(types, " ") != want {
						t.Errorf("events = %v, want %s", types, want)
					}
					_, _, got := do(t, "GET", g.URL+"/v1/orders/"+o["id"].(string), "")
					if refs := got["refs"].(map[string]any); refs["servicer"] == nil {
						t.Errorf("acknowledgement did not set the external reference: %v", refs)
					}
				})
			}
		}
	}
	resp, _, _ := do(t, "GET", wsdl, "")
	if resp != 200 {
		t.Fatalf("GET ?WSDL = %d", resp)
	}
	if strings.Contains(g.Logs(), "s3cret-pw") {
		t.Fatalf("the SOAP password reached the log")
	}
}

// TestBinarySOAPRepeatedCallAppliesOnce posts the same UpdateMessage twice:
// the same result comes back and the order gets one event.
func TestBinarySOAPRepeatedCallAppliesOnce(t *testing.T) {
	testutil.RequireIntegration(t)
	srv := testutil.StartRedis(t)
	g := startGateway(t, "REDIS_URL="+srv.URL(), "SSP7_SOAP_USER=legacy", "SSP7_SOAP_PASSWORD=pw")
	_, _, o := do(t, "POST", g.URL+"/v1/orders", `{"partner":"ssp7","refs":{"requestor":"T-42"}}`)
	env := `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<ProcessInstanceTaskExternalUpdateMessage xmlns="http://tempuri.org/"><taskId>T-42</taskId><message>Parts ordered</message></ProcessInstanceTaskExternalUpdateMessage>
</soap:Body></soap:Envelope>`
	var bodies []string
	for i := 0; i < 2; i++ {
		bodies = append(bodies, postSOAP(t, g, "ProcessInstanceTaskExternalUpdateMessage", env))
	}
	if bodies[0] != bodies[1] {
		t.Errorf("repeated call answered differently:\n%s\n%s", bodies[0], bodies[1])
	}
	_, _, evs := do(t, "GET", g.URL+"/v1/orders/"+o["id"].(string)+"/events", "")
	if n := len(evs["events"].([]any)); n != 2 {
		t.Fatalf("%d events after a repeated call, want 2 (created + one message)", n)
	}
}

// TestBinarySOAPDistinctMessageIDsBothApply: zeep sends the same text twice,
// each call with its own wsa:MessageID. They are two messages (the partner's
// id is the idempotency key), so both apply; a repeat of one MessageID is a
// duplicate.
func TestBinarySOAPDistinctMessageIDsBothApply(t *testing.T) {
	testutil.RequireIntegration(t, "/usr/bin/python3")
	srv := testutil.StartRedis(t)
	g := startGateway(t, "REDIS_URL="+srv.URL(), "SSP7_SOAP_USER=legacy", "SSP7_SOAP_PASSWORD=pw")
	_, _, o := do(t, "POST", g.URL+"/v1/orders", `{"partner":"ssp7","refs":{"requestor":"T-77"}}`)
	wsdl := g.URL + "/Workflow/WebService/WorkflowService.asmx?WSDL"
	out, err := exec.Command("/usr/bin/python3", "../../soap/testdata/zeep_wsa_twice.py", wsdl, "legacy", "pw", "T-77", "Waiting for parts").CombinedOutput()
	if err != nil {
		t.Fatalf("zeep failed: %v\n%s", err, out)
	}
	messages := func() int {
		_, _, evs := do(t, "GET", g.URL+"/v1/orders/"+o["id"].(string)+"/events", "")
		n := 0
		for _, e := range evs["events"].([]any) {
			if e.(map[string]any)["type"] == "order.message" {
				n++
			}
		}
		return n
	}
	if n := messages(); n != 2 {
		t.Fatalf("%d message events after two calls with distinct wsa:MessageIDs, want 2\n%s", n, out)
	}
	// The same wsa:MessageID again (a client's retry) changes nothing.
	env := `<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:wsa="http://www.w3.org/2005/08/addressing">
<soap:Header><wsa:MessageID>urn:uuid:6f1c0e3a-1111-4222-8333-944455556666</wsa:MessageID></soap:Header><soap:Body>
<ProcessInstanceTaskExternalUpdateMessage xmlns="http://tempuri.org/"><taskId>T-77</taskId><message>Waiting for parts</message></ProcessInstanceTaskExternalUpdateMessage>
</soap:Body></soap:Envelope>`
	for i := 0; i < 2; i++ {
		postSOAP(t, g, "ProcessInstanceTaskExternalUpdateMessage", env)
	}
	if n := messages(); n != 3 {
		t.Fatalf("%d message events after a third MessageID sent twice, want 3", n)
	}
}
