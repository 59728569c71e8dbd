package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/testutil"
)

// legacyConfig writes the shipped config with changes (old → new) to a
// temporary file and returns the GATEWAY_CONFIG=… entry naming it.
func legacyConfig(t *testing.T, changes ...string) string {
	t.Helper()
	b, err := os.ReadFile("../../configs/gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(changes); i += 2 {
		if !strings.Contains(s, changes[i]) {
			t.Fatalf("configs/gateway.yaml has no %q", changes[i])
		}
		s = strings.Replace(s, changes[i], changes[i+1], 1)
	}
	p := filepath.Join(t.TempDir(), "gateway.yaml")
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return "GATEWAY_CONFIG=" + p
}

// rawDo sends method url with body and the headers (name, value pairs),
// with the test's Basic credentials when auth, and returns the status,
// Content-Type and body.
func rawDo(t *testing.T, method, url, body string, auth bool, hdr ...string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if auth {
		req.SetBasicAuth("legacy", "pw")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// legacyPost posts body to url with the headers and the test credentials.
func legacyPost(t *testing.T, url, body string, hdr ...string) (int, string, string) {
	t.Helper()
	return rawDo(t, "POST", url, body, true, hdr...)
}

// getWith fetches url with the headers and returns the status and body.
func getWith(t *testing.T, url string, hdr ...string) (int, string) {
	t.Helper()
	code, _, body := rawDo(t, "GET", url, "", false, hdr...)
	return code, body
}

// seedPath is the service's path as seed 004 spells it (the shipped mapping
// writes /Workflow/WebService/…).
const seedPath = "/Workflow/Webservice/WorkflowService.asmx"

func soap11(op, params string) string {
	return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><` +
		op + ` xmlns="http://tempuri.org/">` + params + `</` + op + `></soap:Body></soap:Envelope>`
}

// TestBinarySOAPLegacyClients plays what legacy SSP7 clients send to the
// real binary, on the embedded Redis and on redis-server: the seed's own
// spelling of the path for POST, ?WSDL, ?op= and ?disco; a wrong path in the
// service's folder answered with a SOAP fault; ISO-8859-1 and US-ASCII
// declarations decoded and UTF-16 refused with 415; closed at minOccurs 1 and
// one set of limits in the WSDL and help pages; the WSDL's address from
// X-Forwarded-* of a trusted proxy; SOAP 1.2 faults as HTTP 500 (WCF); and
// the 408 fault for a body that arrives too slowly.
func TestBinarySOAPLegacyClients(t *testing.T) {
	testutil.RequireIntegration(t, "redis-server")
	for name, redisURL := range backends(t) {
		t.Run(name, func(t *testing.T) {
			g := startGateway(t, "REDIS_URL="+redisURL(t), "SSP7_SOAP_USER=legacy", "SSP7_SOAP_PASSWORD=pw",
				legacyConfig(t, "read_timeout: 30s", "read_timeout: 2s", "write_timeout: 30s", "write_timeout: 2s",
					"trusted_proxies: []", "trusted_proxies: [127.0.0.1/32]"))
			code, _, o := do(t, "POST", g.URL+"/v1/orders", `{"partner":"ssp7","refs":{"requestor":"T-601"}}`)
			if code != 201 {
				t.Fatalf("create = %d %v", code, o)
			}
			id := o["id"].(string)
			ack := "ProcessInstanceTaskExternalAcknowledgement"
			upd := "ProcessInstanceTaskExternalUpdateMessage"

			t.Run("seed spelling", func(t *testing.T) {
				code, ct, body := legacyPost(t, g.URL+seedPath, soap11(ack, "<taskId>T-601</taskId><externalReference>INC-1</externalReference>"),
					"Content-Type", "text/xml; charset=utf-8", "SOAPAction", `"http://tempuri.org/`+ack+`"`)
				if code != 200 || !strings.HasPrefix(ct, "text/xml") || !strings.Contains(body, "<"+ack+"Result>"+id+"</") {
					t.Errorf("POST %s = %d %s %s, want 200 with the order id", seedPath, code, ct, body)
				}
				for _, q := range []string{"?WSDL", "?wsdl", "?op=" + upd, "?disco", ""} {
					if code, body := getWith(t, g.URL+seedPath+q); code != 200 || strings.Contains(body, "problem") {
						t.Errorf("GET %s%s = %d %.200s", seedPath, q, code, body)
					}
				}
			})
			t.Run("wrong path in the folder is a SOAP fault", func(t *testing.T) {
				code, ct, body := legacyPost(t, g.URL+"/Workflow/Webservice/WorkflowServce.asmx", soap11(ack, "<taskId>T-601</taskId>"),
					"Content-Type", "text/xml; charset=utf-8")
				if code != 404 || !strings.HasPrefix(ct, "text/xml") || !strings.Contains(body, "<faultcode>soap:Client</faultcode>") ||
					!strings.Contains(body, "<Reason>NotFound</Reason>") || !strings.Contains(body, "/Workflow/WebService/WorkflowService.asmx") {
					t.Errorf("POST to a misspelt service = %d %s %s, want a 404 SOAP fault naming the service's path", code, ct, body)
				}
				if code, _, body := legacyPost(t, g.URL+"/Workflow/WebService/WorkflowService.asmx/"+ack, "taskId=T-601",
					"Content-Type", "application/soap+xml"); code != 404 || !strings.Contains(body, "soap:Sender") {
					t.Errorf("POST below the service = %d %s, want a 404 SOAP 1.2 fault", code, body)
				}
			})
			t.Run("legacy encodings", func(t *testing.T) {
				latin1 := strings.Replace(soap11(upd, "<taskId>T-601</taskId><message>Technicien sur place: \xe9t\xe9 \xe0 l'\xe9tage</message>"),
					`encoding="utf-8"`, `encoding="ISO-8859-1"`, 1)
				code, _, body := legacyPost(t, g.URL+seedPath, latin1, "Content-Type", "text/xml", "SOAPAction", upd)
				if code != 200 {
					t.Fatalf("ISO-8859-1 body = %d %s, want 200", code, body)
				}
				_, _, got := do(t, "GET", g.URL+"/v1/orders/"+id, "")
				if msgs := fmt.Sprint(got["messages"]); !strings.Contains(msgs, "Technicien sur place: été à l'étage") {
					t.Errorf("messages = %s, want the ISO-8859-1 text decoded", msgs)
				}
				ascii := strings.Replace(soap11(upd, "<taskId>T-601</taskId><message>plain ascii</message>"), `encoding="utf-8"`, `encoding="us-ascii"`, 1)
				if code, _, body := legacyPost(t, g.URL+seedPath, ascii, "Content-Type", "text/xml"); code != 200 {
					t.Errorf("us-ascii body = %d %s, want 200", code, body)
				}
				u16 := []byte{0xff, 0xfe}
				for _, r := range soap11(upd, "<taskId>T-601</taskId><message>x</message>") {
					u16 = append(u16, byte(r), 0)
				}
				code, _, body = legacyPost(t, g.URL+seedPath, string(u16), "Content-Type", "text/xml")
				if code != 415 || !strings.Contains(body, "UnsupportedMediaType") || !strings.Contains(body, "UTF-16") {
					t.Errorf("UTF-16 body without charset = %d %s, want the 415 fault", code, body)
				}
			})
			t.Run("WSDL, help pages and disco", func(t *testing.T) {
				_, wsdl := getWith(t, g.URL+seedPath+"?WSDL", "X-Forwarded-Proto", "https", "X-Forwarded-Host", "ssp7.example.com")
				if !strings.Contains(wsdl, `<s:element minOccurs="1" maxOccurs="1" name="closed" type="s:boolean" />`) {
					t.Errorf("WSDL does not declare closed with minOccurs 1:\n%s", wsdl)
				}
				if !strings.Contains(wsdl, `<soap:address location="https://ssp7.example.com/Workflow/WebService/WorkflowService.asmx" />`) ||
					!strings.Contains(wsdl, `<soap12:address location="https://ssp7.example.com/Workflow/WebService/WorkflowService.asmx" />`) {
					t.Errorf("WSDL addresses ignore the trusted proxy's X-Forwarded-*:\n%s", wsdl)
				}
				_, help := getWith(t, g.URL+seedPath+"?op=ProcessInstanceTaskExternalReassignment")
				for _, want := range []string{"<td>solution</td><td>xsd:string</td><td>no</td><td>4000</td>", "<td>closed</td><td>xsd:boolean</td><td>no: always sent (minOccurs 1"} {
					if !strings.Contains(help, want) {
						t.Errorf("help page lacks %s:\n%s", want, help)
					}
				}
				if strings.Contains(help, "65536") || strings.Contains(wsdl, "65536") || strings.Contains(wsdl, `"255"`) {
					t.Errorf("help page or WSDL state other limits than the contract")
				}
				_, page := getWith(t, g.URL+seedPath)
				if !strings.Contains(page, `href="?disco"`) {
					t.Errorf("service page does not link ?disco:\n%s", page)
				}
				_, disco := getWith(t, g.URL+seedPath+"?disco")
				if !strings.Contains(disco, `<discovery `) || !strings.Contains(disco, `ref="http://`+strings.TrimPrefix(g.URL, "http://")+`/Workflow/WebService/WorkflowService.asmx?wsdl"`) ||
					!strings.Contains(disco, `binding="q2:WorkflowServiceSoap12"`) {
					t.Errorf("?disco is not a DISCO document for the service:\n%s", disco)
				}
			})
			t.Run("SOAP 1.2 fault is HTTP 500", func(t *testing.T) {
				env := strings.ReplaceAll(soap11(upd, "<taskId>no-such-task</taskId><message>x</message>"), "http://schemas.xmlsoap.org/soap/envelope/", "http://www.w3.org/2003/05/soap-envelope")
				code, _, body := legacyPost(t, g.URL+seedPath, env, "Content-Type", `application/soap+xml; charset=utf-8; action="http://tempuri.org/`+upd+`"`)
				if code != 500 || !strings.Contains(body, "soap:Sender") || !strings.Contains(body, "gw:UnknownTask") {
					t.Errorf("1.2 unknown task = %d %s, want 500 with a Sender fault", code, body)
				}
			})
			t.Run("slow body gets the 408 fault", func(t *testing.T) {
				conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				body := soap11(upd, "<taskId>T-601</taskId><message>slow</message>")
				fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml; charset=utf-8\r\nAuthorization: Basic bGVnYWN5OnB3\r\nContent-Length: %d\r\n\r\n%s",
					seedPath, len(body), body[:len(body)/2])
				_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Fatalf("no answer to a body that stalled: %v", err)
				}
				b, _ := io.ReadAll(resp.Body)
				if resp.StatusCode != 408 || !strings.Contains(string(b), "<Reason>RequestTimeout</Reason>") || !strings.Contains(string(b), "within 2s") {
					t.Errorf("stalled body = %d %s, want the 408 RequestTimeout fault", resp.StatusCode, b)
				}
			})
		})
	}
}

// TestBinarySOAPAddress checks the WSDL's address: X-Forwarded-* from a peer
// that is not a trusted proxy is ignored, and a configured public URL wins.
func TestBinarySOAPAddress(t *testing.T) {
	testutil.RequireIntegration(t)
	fwd := []string{"X-Forwarded-Proto", "https", "X-Forwarded-Host", "evil.example"}
	g := startGateway(t)
	_, wsdl := getWith(t, g.URL+seedPath+"?wsdl", fwd...)
	if !strings.Contains(wsdl, `location="`+g.URL+`/Workflow/WebService/WorkflowService.asmx"`) || strings.Contains(wsdl, "evil.example") {
		t.Errorf("without trusted proxies the WSDL address must be the request's own:\n%s", wsdl)
	}
	g = startGateway(t, "GATEWAY_PUBLIC_URL=https://gw.example.com")
	_, wsdl = getWith(t, g.URL+seedPath+"?wsdl", fwd...)
	if !strings.Contains(wsdl, `<soap:address location="https://gw.example.com/Workflow/WebService/WorkflowService.asmx" />`) {
		t.Errorf("the configured public URL is not the WSDL address:\n%s", wsdl)
	}
	_, disco := getWith(t, g.URL+seedPath+"?disco")
	if !strings.Contains(disco, `ref="https://gw.example.com/Workflow/WebService/WorkflowService.asmx?wsdl"`) {
		t.Errorf("the configured public URL is not in the DISCO document:\n%s", disco)
	}
}
