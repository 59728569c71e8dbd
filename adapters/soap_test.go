package adapters

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/equus/sogateway/configs"
)

const fault11 = `<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<soap:Fault><faultcode>soap:Client</faultcode><faultstring>taskId is unknown</faultstring></soap:Fault></soap:Body></soap:Envelope>`

const fault11Server = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<soap:Fault><faultcode>soap:Server</faultcode><faultstring>database busy</faultstring></soap:Fault></soap:Body></soap:Envelope>`

const fault12 = `<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><env:Fault>
<env:Code><env:Value>env:Sender</env:Value></env:Code><env:Reason><env:Text xml:lang="en">bad request type</env:Text></env:Reason>
</env:Fault></env:Body></env:Envelope>`

const okEnvelope = `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><SubmitResponse/></soap:Body></soap:Envelope>`

func TestParseFault(t *testing.T) {
	tests := []struct {
		in         string
		code, why  string
		server     bool
		none, fail bool
	}{
		{in: fault11, code: "Client", why: "taskId is unknown"},
		{in: fault11Server, code: "Server", why: "database busy", server: true},
		{in: fault12, code: "Sender", why: "bad request type"},
		{in: okEnvelope, none: true},
		{in: "not xml <", fail: true},
	}
	for _, tt := range tests {
		f, err := ParseFault([]byte(tt.in))
		switch {
		case tt.fail:
			if !errors.Is(err, ErrMalformedXML) {
				t.Errorf("ParseFault(%.20q) = %v, %v, want ErrMalformedXML", tt.in, f, err)
			}
		case tt.none:
			if f != nil || err != nil {
				t.Errorf("ParseFault(ok) = %+v, %v, want nil, nil", f, err)
			}
		default:
			if err != nil || f == nil || f.Code != tt.code || f.Reason != tt.why || f.Server() != tt.server {
				t.Errorf("ParseFault(%.30q) = %+v, %v, want %s %q server=%v", tt.in, f, err, tt.code, tt.why, tt.server)
			}
		}
	}
}

func TestSOAPDeliver(t *testing.T) {
	var action, ct, body string
	answer, status := okEnvelope, 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		action, ct = r.Header.Get("SOAPAction"), r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		body = string(b)
		w.WriteHeader(status)
		io.WriteString(w, answer)
	}))
	defer srv.Close()
	a, err := NewRegistry().Build("soap", "ssp7", &configs.VendorConfig{Transport: "soap", Endpoint: srv.URL,
		SOAP: configs.SOAPConfig{Action: "urn:Submit"}}, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	m := msg("<soap:Envelope/>")
	if _, err := a.Deliver(context.Background(), m); err != nil {
		t.Fatalf("Deliver() = %v", err)
	}
	if action != `"urn:Submit"` || !strings.HasPrefix(ct, "text/xml") || body != "<soap:Envelope/>" { // already an envelope: sent as is
		t.Errorf("request: SOAPAction=%q Content-Type=%q body=%q", action, ct, body)
	}
	m.Headers = map[string]string{"SOAPAction": "urn:Other"}
	a.Deliver(context.Background(), m)
	if action != `"urn:Other"` {
		t.Errorf("SOAPAction = %q, want the rendered one", action)
	}

	answer, status = fault11, 500
	_, err = a.Deliver(context.Background(), m)
	if !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "SOAP fault Client: taskId is unknown") {
		t.Errorf("Deliver(client fault) = %v, want permanent naming the fault", err)
	}
	answer = fault11Server
	if _, err = a.Deliver(context.Background(), m); !errors.Is(err, ErrTransient) {
		t.Errorf("Deliver(server fault) = %v, want transient", err)
	}
	answer, status = fault12, 200 // a fault is a failure whatever the status
	if _, err = a.Deliver(context.Background(), m); !errors.Is(err, ErrPermanent) {
		t.Errorf("Deliver(1.2 fault with 200) = %v, want permanent", err)
	}

	a12, _ := NewSOAP("ssp7", &configs.VendorConfig{Endpoint: srv.URL, SOAP: configs.SOAPConfig{Version: "1.2", Action: "urn:Submit"}}, envOf(nil))
	answer, status = okEnvelope, 200
	if _, err := a12.Deliver(context.Background(), msg("<e/>")); err != nil || ct != `application/soap+xml; charset=utf-8; action="urn:Submit"` {
		t.Errorf("SOAP 1.2: err=%v Content-Type=%q", err, ct)
	}
}

func FuzzParseFault(f *testing.F) {
	for _, s := range []string{fault11, fault11Server, fault12, okEnvelope, "", "<", "<a><b></a>"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fl, err := ParseFault(b)
		if err != nil && fl != nil && fl.Code == "" && fl.Reason == "" {
			return
		}
		if fl != nil && (len(fl.Reason) > 4096 || len(fl.Code) > 4096) {
			t.Errorf("ParseFault kept %d/%d bytes, want at most 4096", len(fl.Code), len(fl.Reason))
		}
	})
}

func TestEnvelope(t *testing.T) {
	if got := string(Envelope([]byte(okEnvelope), "1.1")); got != okEnvelope {
		t.Errorf("Envelope(envelope) changed it: %s", got)
	}
	got := string(Envelope([]byte(`<?xml version="1.0"?>`+"\n"+`<TaskEvent xmlns="http://tempuri.org/"><TaskId>T1</TaskId></TaskEvent>`), "1.1"))
	want := `<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><TaskEvent xmlns="http://tempuri.org/"><TaskId>T1</TaskId></TaskEvent></soap:Body></soap:Envelope>`
	if got != want {
		t.Errorf("Envelope(TaskEvent) = %s, want %s", got, want)
	}
	if got := string(Envelope([]byte(`<a/>`), "1.2")); !strings.Contains(got, NamespaceSOAP12) {
		t.Errorf("Envelope(1.2) = %s, want the 1.2 namespace", got)
	}
}

func FuzzEnvelope(f *testing.F) {
	for _, s := range []string{okEnvelope, fault12, `<TaskEvent><TaskId>1</TaskId></TaskEvent>`, `<?xml version="1.0"?><a/>`, "", "<?xml", "plain"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		out := Envelope(b, "1.1")
		if f, err := ParseFault(b); err == nil && f == nil && bytes.Equal(out, b) {
			return // already an envelope (or no element at all) and unchanged
		}
		if !bytes.Contains(out, []byte(`<soap:Envelope xmlns:soap="`+NamespaceSOAP11+`"><soap:Body>`)) && !bytes.Equal(out, b) {
			t.Errorf("Envelope(%q) = %q: neither wrapped nor unchanged", b, out)
		}
	})
}
