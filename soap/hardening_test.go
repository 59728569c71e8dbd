package soap

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/testutil"
)

// post runs one request through h in process and returns the response.
func post(t testing.TB, h http.Handler, ct, action string, body io.Reader, length int64, auth bool) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, DefaultPath, body)
	r.ContentLength = length
	r.Header.Set("Content-Type", ct)
	if action != "" {
		r.Header.Set("SOAPAction", action)
	}
	if auth {
		r.SetBasicAuth(testUser, testPassword)
	}
	w := testutil.Serve(t, h, r)
	return w
}

func faultReason(body string) string {
	_, rest, ok := strings.Cut(body, "<Reason>")
	if !ok {
		return ""
	}
	reason, _, _ := strings.Cut(rest, "</Reason>")
	return reason
}

func TestDeepDocumentRefused(t *testing.T) {
	const depth = 10001
	deep := strings.Repeat("<x:a>", depth) + "z" + strings.Repeat("</x:a>", depth)
	docs := map[string]string{
		"in a header": `<soap:Envelope xmlns:soap="` + nsEnv11 + `"><soap:Header><x:Ext xmlns:x="urn:x">` + deep +
			`</x:Ext></soap:Header><soap:Body><ProcessInstanceTaskExternalUpdateMessage xmlns="http://tempuri.org/"><taskId>T</taskId><message>m</message></ProcessInstanceTaskExternalUpdateMessage></soap:Body></soap:Envelope>`,
		"in the security header": `<soap:Envelope xmlns:soap="` + nsEnv11 + `"><soap:Header><wsse:Security xmlns:wsse="` + nsWSSE + `"><x:T xmlns:x="urn:x">` + deep +
			`</x:T></wsse:Security></soap:Header><soap:Body/></soap:Envelope>`,
	}
	for name, doc := range docs {
		t.Run(name, func(t *testing.T) {
			rec := &recorder{}
			h := newTestHandler(t, rec, nil)
			w := post(t, h, "text/xml", "", strings.NewReader(doc), int64(len(doc)), true)
			if got := faultReason(w.Body.String()); w.Code != 500 || got != ReasonTooDeep {
				t.Errorf("POST %d-deep document = %d %s, want 500 %s\n%s", depth, w.Code, got, ReasonTooDeep, w.Body)
			}
			if !strings.Contains(w.Body.String(), "the limit is 64") {
				t.Errorf("fault %s does not name the limit", w.Body)
			}
			if n := len(rec.Calls()); n != 0 {
				t.Errorf("backend got %d calls, want 0", n)
			}
		})
	}
	// The same document passes the parser when the cap allows it: the cap is what refuses it.
	if _, err := parseEnvelope([]byte(docs["in a header"]), depth+10); err != nil {
		t.Errorf("parseEnvelope(deep, cap %d) = %v, want nil", depth+10, err)
	}
}

func TestDocTypeRefused(t *testing.T) {
	laughs := `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<soap:Envelope xmlns:soap="` + nsEnv11 + `"><soap:Body><ProcessInstanceTaskExternalUpdateMessage xmlns="http://tempuri.org/"><taskId>T-1</taskId><message>&lol9;</message></ProcessInstanceTaskExternalUpdateMessage></soap:Body></soap:Envelope>`
	xxe := `<?xml version="1.0"?><!DOCTYPE m [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="` + nsEnv11 + `"><soap:Body><ProcessInstanceTaskExternalUpdateMessage xmlns="http://tempuri.org/"><taskId>T-1</taskId><message>&xxe;</message></ProcessInstanceTaskExternalUpdateMessage></soap:Body></soap:Envelope>`
	undeclared := `<soap:Envelope xmlns:soap="` + nsEnv11 + `"><soap:Body><ProcessInstanceTaskExternalUpdateMessage xmlns="http://tempuri.org/"><taskId>T-1</taskId><message>&xxe;</message></ProcessInstanceTaskExternalUpdateMessage></soap:Body></soap:Envelope>`
	late := `<soap:Envelope xmlns:soap="` + nsEnv11 + `"><!DOCTYPE x><soap:Body/></soap:Envelope>`
	for _, tc := range []struct{ name, doc, reason string }{
		{"billion laughs", laughs, ReasonDocType},
		{"external entity", xxe, ReasonDocType},
		{"declaration inside the envelope", late, ReasonDocType},
		{"undeclared entity", undeclared, ReasonMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			h := newTestHandler(t, rec, nil)
			w := post(t, h, "text/xml; charset=utf-8", "", strings.NewReader(tc.doc), int64(len(tc.doc)), true)
			if got := faultReason(w.Body.String()); w.Code != 500 || got != tc.reason {
				t.Errorf("POST %s = %d %s, want 500 %s\n%s", tc.name, w.Code, got, tc.reason, w.Body)
			}
			if strings.Contains(w.Body.String(), "lollol") || strings.Contains(w.Body.String(), "root:") {
				t.Errorf("fault expanded an entity: %s", w.Body)
			}
			if n := len(rec.Calls()); n != 0 {
				t.Errorf("backend got %d calls, want 0", n)
			}
		})
	}
}

// endless is a reader of n bytes: an envelope's start, then padding inside a
// parameter. It counts what was read.
type endless struct {
	n, read int64
}

var endlessHead = []byte(`<soap:Envelope xmlns:soap="` + nsEnv11 + `"><soap:Body><ProcessInstanceTaskExternalUpdateMessage xmlns="http://tempuri.org/"><taskId>T-1</taskId><message>`)

func (e *endless) Read(p []byte) (int, error) {
	if e.read >= e.n {
		return 0, io.EOF
	}
	if int64(len(p)) > e.n-e.read {
		p = p[:e.n-e.read]
	}
	for i := range p {
		if off := e.read + int64(i); off < int64(len(endlessHead)) {
			p[i] = endlessHead[off]
		} else {
			p[i] = 'x'
		}
	}
	atomic.AddInt64(&e.read, int64(len(p)))
	return len(p), nil
}

func TestHugeBodyRefused(t *testing.T) {
	const size = 100 << 20
	const limit = 1 << 20
	for _, tc := range []struct {
		name     string
		length   int64 // Content-Length sent; -1 is chunked
		auth     bool
		maxRead  int64
		status   int
		reason   string
		wantRead bool
	}{
		{"streamed without length", -1, true, limit + 64<<10, 413, ReasonTooLarge, true},
		{"announced length", size, true, 0, 413, ReasonTooLarge, false},
		{"wrong password, streamed", -1, false, 0, 401, ReasonAuthenticationFailed, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			h := newTestHandler(t, rec, nil)
			body := &endless{n: size}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			r := httptest.NewRequest(http.MethodPost, DefaultPath, body)
			r.ContentLength = tc.length
			r.Header.Set("Content-Type", "text/xml")
			if tc.auth {
				r.SetBasicAuth(testUser, testPassword)
			} else {
				r.SetBasicAuth(testUser, "guess")
			}
			w := testutil.Serve(t, h, r)
			runtime.ReadMemStats(&after)
			if got := faultReason(w.Body.String()); w.Code != tc.status || got != tc.reason {
				t.Errorf("POST 100 MiB (%s) = %d %s, want %d %s", tc.name, w.Code, got, tc.status, tc.reason)
			}
			if body.read > tc.maxRead {
				t.Errorf("handler read %d bytes of a 100 MiB body, want at most %d", body.read, tc.maxRead)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("read %d bytes, allocated %d bytes", body.read, alloc)
			if alloc > 16<<20 {
				t.Errorf("handler allocated %d bytes for a 100 MiB body, want at most 16 MiB", alloc)
			}
			if n := len(rec.Calls()); n != 0 {
				t.Errorf("backend got %d calls, want 0", n)
			}
		})
	}
}

// TestHugeBodyOverTCP sends 100 MiB to a real server: it answers 413 (or
// closes the connection) long before the client has sent it all.
func TestHugeBodyOverTCP(t *testing.T) {
	h := newTestHandler(t, &recorder{}, nil)
	srv := httptest.NewServer(h)
	defer srv.Close()
	body := &endless{n: 100 << 20}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+DefaultPath, io.NopCloser(body))
	req.ContentLength = -1
	req.Header.Set("Content-Type", "text/xml")
	req.SetBasicAuth(testUser, testPassword)
	resp, err := srv.Client().Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 413 || faultReason(string(b)) != ReasonTooLarge {
			t.Errorf("POST 100 MiB = %d %s, want 413 %s", resp.StatusCode, faultReason(string(b)), ReasonTooLarge)
		}
	}
	if sent := atomic.LoadInt64(&body.read); sent >= 50<<20 {
		t.Errorf("client sent %d bytes before the server gave up, want under 50 MiB", sent)
	}
}

// TestBodyLimitIsExact checks the cap is the option's value: one byte under passes the size check.
func TestBodyLimitIsExact(t *testing.T) {
	doc := string(endlessHead) + "hi</message></ProcessInstanceTaskExternalUpdateMessage></soap:Body></soap:Envelope>"
	for _, tc := range []struct {
		max    int64
		status int
	}{{int64(len(doc)), 200}, {int64(len(doc)) - 1, 413}} {
		h := newTestHandler(t, &recorder{}, func(o *Options) { o.MaxBodyBytes = tc.max })
		if w := post(t, h, "text/xml", "", bytes.NewReader([]byte(doc)), -1, true); w.Code != tc.status {
			t.Errorf("POST %d bytes with MaxBodyBytes %d = %d, want %d\n%s", len(doc), tc.max, w.Code, tc.status, w.Body)
		}
	}
}

// TestSlowBodyTimesOut sends half a body and stalls: the handler gives up
// after Options.ReadTimeout with a RequestTimeout fault instead of waiting.
func TestSlowBodyTimesOut(t *testing.T) {
	h := newTestHandler(t, &recorder{}, func(o *Options) { o.ReadTimeout = 300 * time.Millisecond })
	srv := httptest.NewServer(h)
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	auth := base64.StdEncoding.EncodeToString([]byte(testUser + ":" + testPassword))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nAuthorization: Basic %s\r\nContent-Length: 1000\r\n\r\n%s",
		DefaultPath, auth, endlessHead)
	// Nothing more is sent. The test's own deadline only stops a hang.
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a stalled body: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 408 || faultReason(string(b)) != ReasonTimeout {
		t.Errorf("stalled POST = %d %s, want 408 %s", resp.StatusCode, b, ReasonTimeout)
	}
}
