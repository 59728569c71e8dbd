package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/testutil"
)

// soapCall posts one WorkflowService operation as the external provider.
func soapCall(t *testing.T, g *proc, op, params string) {
	t.Helper()
	postSOAP(t, g, op, `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><`+
		op+` xmlns="http://tempuri.org/">`+params+`</`+op+`></soap:Body></soap:Envelope>`)
}

// postSOAP posts the SOAP 1.1 envelope env for operation op to the
// WorkflowService as user legacy (password pw), fails the test unless the
// answer is 200, and returns the answer's body.
func postSOAP(t *testing.T, g *proc, op, env string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", g.URL+"/Workflow/WebService/WorkflowService.asmx", strings.NewReader(env))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	req.Header.Set("SOAPAction", `"http://tempuri.org/`+op+`"`)
	req.SetBasicAuth("legacy", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("SOAP %s = %d %s", op, resp.StatusCode, b)
	}
	return string(b)
}

// TestBinarySSP7ProviderRoundTrip runs the real binary with redis-server,
// Dovecot, a local HTTP receiver and an SMTP receiver as the SSP7 provider
// (seed 004): assignment to the integrated group network-ops sends Submit
// Request (HTTP and email), a platform message sends Update, the provider's
// SOAP acknowledgement and reassignment (solution) are not echoed back, the
// resolution rejection sends Resolution Rejection, the provider's plain mail
// reply to our email reaches the task, closure sends Closed, and a
// re-assignment sends Submit Request again with the external reference.
func TestBinarySSP7ProviderRoundTrip(t *testing.T) {
	testutil.RequireIntegration(t)
	rs := testutil.StartRedis(t)
	dc := testutil.StartDovecot(t, nil)
	smtp := testutil.StartSMTPSink(t)
	provider := &vendorSink{}
	ps := httptest.NewServer(provider)
	t.Cleanup(ps.Close)
	g := startGateway(t, "REDIS_URL="+rs.URL(), "SSP7_SOAP_USER=legacy", "SSP7_SOAP_PASSWORD=pw",
		"SSP7_IMAP_ADDR="+dc.Addr(), "SSP7_IMAP_USER="+testutil.DovecotUser, "SSP7_IMAP_PASSWORD="+testutil.DovecotPassword, "SSP7_IMAP_TLS=none",
		"SSP7_PROVIDER_URL="+ps.URL, "SSP7_PROVIDER_EMAIL=desk@provider.example", "SMTP_ADDR="+smtp.Addr(), "SMTP_TLS=none",
		"GATEWAY_MAIL_FROM=gateway@equus.example")

	code, _, o := do(t, "POST", g.URL+"/v1/orders", `{"partner":"ssp7","company":"globex","service_type":"incident","refs":{"requestor":"T-200"},"fields":{"subject":"Core switch down","description":"Rack 4 switch lost power","priority":"P1"}}`)
	if code != 201 {
		t.Fatalf("create = %d %v", code, o)
	}
	id := o["id"].(string)
	version := func() int {
		_, _, cur := do(t, "GET", g.URL+"/v1/orders/"+id, "")
		return int(cur["version"].(float64))
	}
	patch := func(body string) {
		t.Helper()
		if code, _, p := do(t, "PATCH", g.URL+"/v1/orders/"+id, fmt.Sprintf(`{"version":%d,%s}`, version(), body)); code != 200 {
			t.Fatalf("PATCH %s = %d %v", body, code, p)
		}
	}
	last := func(n int, what string) string {
		t.Helper()
		waitFor(t, what, 30*time.Second, func() bool { return provider.count() >= n })
		provider.mu.Lock()
		defer provider.mu.Unlock()
		return provider.bodies[n-1]
	}
	mustHave := func(body string, want ...string) {
		t.Helper()
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("provider got %s\nwant it to contain %s", body, w)
			}
		}
	}

	// Assignment to the integrated group: Submit Request / Out, by HTTP and email.
	patch(`"assignment":{"group":"network-ops","assignee":"noc-1"}`)
	mustHave(last(1, "Submit Request"), "<RequestType>Submit Request</RequestType>", "<Direction>Out</Direction>", "<TaskId>T-200</TaskId>", "<Subject>Core switch down</Subject>")
	waitFor(t, "the Submit Request email", 30*time.Second, func() bool { return len(smtp.Messages()) >= 1 })
	sent, err := mail.ReadMessage(bytes.NewReader(smtp.Messages()[0]))
	if err != nil {
		t.Fatal(err)
	}
	msgID, subject := sent.Header.Get("Message-Id"), sent.Header.Get("Subject")
	if !strings.HasPrefix(msgID, "<task-T-200.") || !strings.HasSuffix(msgID, "@ssp7.gateway>") || !strings.Contains(subject, "[Task T-200]") {
		t.Fatalf("email Message-ID %q, Subject %q; want the mapping's <task-T-200.…@ssp7.gateway> and [Task T-200]", msgID, subject)
	}

	// A platform message: Update / Out.
	if code, _, m := do(t, "POST", g.URL+"/v1/orders/"+id+"/messages", `{"text":"Spare switch is on site"}`); code != 201 {
		t.Fatalf("message = %d %v", code, m)
	}
	mustHave(last(2, "Update"), "<RequestType>Update</RequestType>", "<UpdateText>Spare switch is on site</UpdateText>")

	// The provider acknowledges and reassigns with a solution over SOAP: the
	// order is resolved, and nothing goes back to the provider.
	soapCall(t, g, "ProcessInstanceTaskExternalAcknowledgement", "<taskId>T-200</taskId><externalReference>INC-9001</externalReference>")
	soapCall(t, g, "ProcessInstanceTaskExternalReassignment", "<taskId>T-200</taskId><solution>Replaced the PSU</solution>")
	_, _, cur := do(t, "GET", g.URL+"/v1/orders/"+id, "")
	if cur["status"] != "resolved" {
		t.Fatalf("status after the reassignment = %v, want resolved", cur["status"])
	}

	// Resolution rejection: back in progress, Resolution Rejection / Out.
	code, _, rej := do(t, "POST", g.URL+"/v1/orders/"+id+"/resolution-rejection", `{"reason":"Switch still reboots"}`)
	if code != 200 || rej["order"].(map[string]any)["status"] != "in_progress" {
		t.Fatalf("resolution-rejection = %d %v, want 200 and in_progress", code, rej)
	}
	mustHave(last(3, "Resolution Rejection"), "<RequestType>Resolution Rejection</RequestType>", "<Reason>Switch still reboots</Reason>", "<ExternalReference>INC-9001</ExternalReference>")
	if provider.count() != 3 {
		t.Errorf("provider got %d messages, want 3 (the SOAP calls must not be echoed back)", provider.count())
	}
	if code, _, _ := do(t, "POST", g.URL+"/v1/orders/"+id+"/resolution-rejection", `{"reason":"again"}`); code != 409 {
		t.Errorf("rejecting an order that is not resolved = %d, want 409", code)
	}

	// The provider's plain reply to our email (no tags) reaches the task.
	appendMail(t, dc.Addr(), "INBOX", fmt.Sprintf("From: Provider Desk <desk@provider.example>\r\nTo: gateway@equus.example\r\nSubject: Re: %s\r\nMessage-ID: <reply-77@provider.example>\r\nIn-Reply-To: %s\r\nReferences: %s\r\nDate: Wed, 02 Dec 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nWe are swapping the whole chassis tonight.\r\n", subject, msgID, msgID))
	waitFor(t, "the plain reply to reach the task", 60*time.Second, func() bool {
		_, _, cur := do(t, "GET", g.URL+"/v1/orders/"+id, "")
		return strings.Contains(fmt.Sprint(cur["messages"]), "We are swapping the whole chassis tonight.")
	})

	// Closure on the platform: Closed / Out.
	patch(`"status":"closed"`)
	mustHave(last(4, "Closed"), "<RequestType>Closed</RequestType>", "<TaskId>T-200</TaskId>")

	// Every outbound event carries its Request Type and Direction.
	_, _, evs := do(t, "GET", g.URL+"/v1/orders/"+id+"/events", "")
	var types []string
	for _, e := range evs["events"].([]any) {
		ev := e.(map[string]any)
		if ev["type"] == "order.submitted" {
			d := ev["data"].(map[string]any)
			if d["request_type"] != "Submit Request" || d["direction"] != "Out" || d["group"] != "network-ops" {
				t.Errorf("order.submitted data = %v, want Submit Request / Out for group network-ops", d)
			}
		}
		types = append(types, ev["type"].(string))
	}
	for _, want := range []string{"order.assigned", "order.submitted", "order.message", "order.acknowledged", "order.reassigned", "order.resolution_rejected", "order.closed"} {
		if !strings.Contains(strings.Join(types, " "), want) {
			t.Errorf("events %v lack %s", types, want)
		}
	}
	_, _, ds := do(t, "GET", g.URL+"/v1/orders/"+id+"/deliveries", "")
	waitFor(t, "every delivery to succeed", 30*time.Second, func() bool {
		_, _, ds = do(t, "GET", g.URL+"/v1/orders/"+id+"/deliveries", "")
		return !strings.Contains(fmt.Sprint(ds), "Sending") && !strings.Contains(fmt.Sprint(ds), "Failure")
	})
	if n := len(ds["deliveries"].([]any)); n != 8 {
		t.Errorf("%d deliveries, want 8 (4 events by HTTP and by email): %v", n, ds)
	}
}

// TestBinarySSP7ReassignmentSendsTheExternalReference: an order assigned away
// from the integrated group and back is submitted again, carrying the
// external reference the provider gave it.
func TestBinarySSP7ReassignmentSendsTheExternalReference(t *testing.T) {
	testutil.RequireIntegration(t)
	rs := testutil.StartRedis(t)
	provider := &vendorSink{}
	ps := httptest.NewServer(provider)
	t.Cleanup(ps.Close)
	g := startGateway(t, "REDIS_URL="+rs.URL(), "SSP7_SOAP_USER=legacy", "SSP7_SOAP_PASSWORD=pw", "SSP7_PROVIDER_URL="+ps.URL)
	_, _, o := do(t, "POST", g.URL+"/v1/orders", `{"partner":"ssp7","company":"globex","service_type":"incident","refs":{"requestor":"T-300"}}`)
	id := o["id"].(string)
	assign := func(group string) {
		_, _, cur := do(t, "GET", g.URL+"/v1/orders/"+id, "")
		if code, _, p := do(t, "PATCH", g.URL+"/v1/orders/"+id, fmt.Sprintf(`{"version":%v,"assignment":{"group":%q}}`, cur["version"], group)); code != 200 {
			t.Fatalf("assign %s = %d %v", group, code, p)
		}
	}
	assign("network-ops")
	waitFor(t, "the first Submit Request", 30*time.Second, func() bool { return provider.count() == 1 })
	soapCall(t, g, "ProcessInstanceTaskExternalAcknowledgement", "<taskId>T-300</taskId><externalReference>INC-42</externalReference>")
	assign("service-desk")
	assign("network-ops")
	waitFor(t, "the second Submit Request", 30*time.Second, func() bool { return provider.count() == 2 })
	provider.mu.Lock()
	first, second := provider.bodies[0], provider.bodies[1]
	provider.mu.Unlock()
	if strings.Contains(first, "<ExternalReference>") || !strings.Contains(second, "<ExternalReference>INC-42</ExternalReference>") ||
		!strings.Contains(second, "<RequestType>Submit Request</RequestType>") {
		t.Errorf("submissions:\n%s\n%s\nwant the second one to carry the external reference", first, second)
	}
	_, _, evs := do(t, "GET", g.URL+"/v1/orders/"+id+"/events", "")
	if !strings.Contains(fmt.Sprint(evs), "group:service-desk previous_group:network-ops") || !strings.Contains(fmt.Sprint(evs), "reassignment:true") {
		t.Errorf("events = %v, want the assignment away and a re-assignment", evs)
	}
}
