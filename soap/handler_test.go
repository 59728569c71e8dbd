package soap

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/equus/sogateway/internal/testutil"
)

const (
	ack = "ProcessInstanceTaskExternalAcknowledgement"
	upd = "ProcessInstanceTaskExternalUpdateMessage"
	rea = "ProcessInstanceTaskExternalReassignment"
)

// env builds an envelope of version v with header blocks and body content.
func env(v, header, body string) string {
	ns := nsEnv11
	if v == V12 {
		ns = nsEnv12
	}
	h := ""
	if header != "" {
		h = "<soap:Header>" + header + "</soap:Header>"
	}
	return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="` + ns + `" xmlns:xsi="` + nsXSI + `">` + h + "<soap:Body>" + body + "</soap:Body></soap:Envelope>"
}

func opBody(name string, kv ...string) string {
	var b strings.Builder
	b.WriteString("<" + name + ` xmlns="http://tempuri.org/">`)
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString("<" + kv[i] + ">" + kv[i+1] + "</" + kv[i] + ">")
	}
	b.WriteString("</" + name + ">")
	return b.String()
}

func textToken(user, pass string) string {
	return `<wsse:Security xmlns:wsse="` + nsWSSE + `"><wsse:UsernameToken><wsse:Username>` + user +
		`</wsse:Username><wsse:Password Type="` + passwordText + `">` + pass + `</wsse:Password></wsse:UsernameToken></wsse:Security>`
}

func digestToken(user, pass, nonce, created string) string {
	h := sha1.New()
	h.Write([]byte(nonce))
	h.Write([]byte(created))
	h.Write([]byte(pass))
	return `<wsse:Security xmlns:wsse="` + nsWSSE + `" xmlns:wsu="` + nsWSU + `" soap:mustUnderstand="1"><wsse:UsernameToken><wsse:Username>` + user +
		`</wsse:Username><wsse:Password Type="` + passwordDigest + `">` + base64.StdEncoding.EncodeToString(h.Sum(nil)) +
		`</wsse:Password><wsse:Nonce EncodingType="` + base64BinaryEnc + `">` + base64.StdEncoding.EncodeToString([]byte(nonce)) +
		`</wsse:Nonce><wsu:Created>` + created + `</wsu:Created></wsse:UsernameToken></wsse:Security>`
}

type req struct {
	ct, action, basic, body string // basic: "" none, "ok", or "user:pass"
}

func (q req) do(t *testing.T, h http.Handler) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, DefaultPath, strings.NewReader(q.body))
	if q.ct != "" {
		r.Header.Set("Content-Type", q.ct)
	}
	if q.action != "" {
		r.Header.Set("SOAPAction", q.action)
	}
	switch q.basic {
	case "":
	case "ok":
		r.SetBasicAuth(testUser, testPassword)
	default:
		u, p, _ := strings.Cut(q.basic, ":")
		r.SetBasicAuth(u, p)
	}
	w := testutil.Serve(t, h, r)
	return w
}

// TestCalls checks dispatch, versions and parameter handling for calls that succeed.
func TestCalls(t *testing.T) {
	created := testNow.Format(time.RFC3339)
	for _, tc := range []struct {
		name    string
		q       req
		version string
		op      string
		params  map[string]string
	}{
		{"1.1 quoted action", req{"text/xml; charset=utf-8", `"http://tempuri.org/` + ack + `"`, "ok", env(V11, "", opBody(ack, "taskId", "T-1", "externalReference", "R-9"))},
			V11, ack, map[string]string{"taskId": "T-1", "externalReference": "R-9"}},
		{"1.1 unquoted action", req{"text/xml", `http://tempuri.org/` + upd, "ok", env(V11, "", opBody(upd, "taskId", "T-1", "message", " spaced  text\n"))},
			V11, upd, map[string]string{"taskId": "T-1", "message": " spaced  text\n"}},
		{"1.1 bare operation name as action", req{"text/xml", upd, "ok", env(V11, "", opBody(upd, "taskId", "T-1", "message", "m"))},
			V11, upd, map[string]string{"taskId": "T-1", "message": "m"}},
		{"1.1 empty action dispatches by body", req{"text/xml", `""`, "ok", env(V11, "", opBody(rea, "taskId", "T-1", "solution", "s", "closed", " false "))},
			V11, rea, map[string]string{"taskId": "T-1", "solution": "s", "closed": "false"}},
		{"1.2 action parameter", req{`application/soap+xml; charset=utf-8; action="http://tempuri.org/` + rea + `"`, "", "ok", env(V12, "", opBody(rea, "taskId", "T-1", "solution", "s"))},
			V12, rea, map[string]string{"taskId": "T-1", "solution": "s"}},
		{"1.2 without action", req{"application/soap+xml", "", "ok", env(V12, "", opBody(rea, "taskId", "T-1", "solution", "s", "closed", "1"))},
			V12, rea, map[string]string{"taskId": "T-1", "solution": "s", "closed": "true"}},
		{"no content type: version from envelope", req{"", "", "ok", env(V12, "", opBody(ack, "taskId", "T-1", "externalReference", "R"))},
			V12, ack, map[string]string{"taskId": "T-1", "externalReference": "R"}},
		{"optional xsi:nil is absent", req{"text/xml", "", "ok", env(V11, "", strings.Replace(opBody(rea, "taskId", "T-1", "solution", "s"), "</solution>", `</solution><closed xsi:nil="true"/>`, 1))},
			V11, rea, map[string]string{"taskId": "T-1", "solution": "s"}},
		{"unqualified parameters", req{"text/xml", "", "ok", env(V11, "", `<t:`+ack+` xmlns:t="http://tempuri.org/"><taskId>T-1</taskId><externalReference>R</externalReference></t:`+ack+`>`)},
			V11, ack, map[string]string{"taskId": "T-1", "externalReference": "R"}},
		{"UTF-8 byte order mark", req{"text/xml", "", "ok", "\xef\xbb\xbf" + env(V11, "", opBody(ack, "taskId", "T-1", "externalReference", "R"))},
			V11, ack, map[string]string{"taskId": "T-1", "externalReference": "R"}},
		{"empty header, xsi:type attributes, comments", req{"text/xml", "", "ok", env(V11, "<!-- none -->", `<!-- op --><`+ack+` xmlns="http://tempuri.org/" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><taskId xsi:type="xsd:string">T-1</taskId><!-- c --><externalReference xsi:type="xsd:string">R<!-- c -->2</externalReference></`+ack+`>`)},
			V11, ack, map[string]string{"taskId": "T-1", "externalReference": "R2"}},
		{"CDATA and entities", req{"text/xml", "", "ok", env(V11, "", opBody(upd, "taskId", "T-1", "message", "<![CDATA[a<b]]> &amp; &#233;"))},
			V11, upd, map[string]string{"taskId": "T-1", "message": "a<b & é"}},
		{"wsse text", req{"text/xml", "", "", env(V11, textToken(testUser, testPassword), opBody(ack, "taskId", "T-1", "externalReference", "R"))},
			V11, ack, map[string]string{"taskId": "T-1", "externalReference": "R"}},
		{"wsse digest, mustUnderstand security", req{"application/soap+xml", "", "", env(V12, digestToken(testUser, testPassword, "nonce-1", created), opBody(ack, "taskId", "T-1", "externalReference", "R"))},
			V12, ack, map[string]string{"taskId": "T-1", "externalReference": "R"}},
		{"basic and wsse, same user", req{"text/xml", "", "ok", env(V11, textToken(testUser, testPassword), opBody(ack, "taskId", "T-1", "externalReference", "R"))},
			V11, ack, map[string]string{"taskId": "T-1", "externalReference": "R"}},
		{"unknown header without mustUnderstand is ignored", req{"text/xml", "", "ok", env(V11, `<x:T xmlns:x="urn:x" soap:mustUnderstand="0"><x:y/></x:T>`, opBody(ack, "taskId", "T-1", "externalReference", "R"))},
			V11, ack, map[string]string{"taskId": "T-1", "externalReference": "R"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			h := newTestHandler(t, rec, func(o *Options) { o.Now = func() time.Time { return testNow } })
			w := tc.q.do(t, h)
			if w.Code != 200 {
				t.Fatalf("POST = %d, want 200\n%s", w.Code, w.Body)
			}
			calls := rec.Calls()
			if len(calls) != 1 {
				t.Fatalf("backend got %d calls, want 1", len(calls))
			}
			c := calls[0]
			if c.Operation != tc.op || c.Version != tc.version || !reflect.DeepEqual(c.Params, tc.params) || c.Username != testUser {
				t.Errorf("call = %s SOAP %s %q user %q, want %s SOAP %s %q user %q", c.Operation, c.Version, c.Params, c.Username,
					tc.op, tc.version, tc.params, testUser)
			}
			wantCT := map[string]string{V11: "text/xml; charset=utf-8", V12: "application/soap+xml; charset=utf-8"}[tc.version]
			if got := w.Header().Get("Content-Type"); got != wantCT {
				t.Errorf("Content-Type = %q, want %q", got, wantCT)
			}
			want := "<" + tc.op + `Response xmlns="http://tempuri.org/"><` + tc.op + "Result>OK " + tc.op + " T-1</" + tc.op + "Result></" + tc.op + "Response>"
			if !strings.Contains(w.Body.String(), want) {
				t.Errorf("response %s does not hold %s", w.Body, want)
			}
		})
	}
}

// TestFaults checks refusals that the golden files do not show.
func TestFaults(t *testing.T) {
	created := testNow.Format(time.RFC3339)
	good := opBody(ack, "taskId", "T-1", "externalReference", "R")
	for _, tc := range []struct {
		name   string
		q      req
		status int
		reason string
		text   string
	}{
		{"wsse wrong text password", req{"text/xml", "", "", env(V11, textToken(testUser, "nope"), good)}, 401, ReasonAuthenticationFailed, "unknown user or wrong password"},
		{"wsse unknown user", req{"text/xml", "", "", env(V11, textToken("mallory", testPassword), good)}, 401, ReasonAuthenticationFailed, "unknown user or wrong password"},
		{"wsse digest wrong password", req{"text/xml", "", "", env(V11, digestToken(testUser, "nope", "n", created), good)}, 401, ReasonAuthenticationFailed, "wrong password digest"},
		{"wsse digest created too old", req{"text/xml", "", "", env(V11, digestToken(testUser, testPassword, "n", testNow.Add(-6*time.Minute).Format(time.RFC3339)), good)}, 401, ReasonAuthenticationFailed, "more than 5m0s away"},
		{"wsse digest created in the future", req{"text/xml", "", "", env(V11, digestToken(testUser, testPassword, "n", testNow.Add(6*time.Minute).Format(time.RFC3339)), good)}, 401, ReasonAuthenticationFailed, "more than 5m0s away"},
		{"wsse digest bad created", req{"text/xml", "", "", env(V11, digestToken(testUser, testPassword, "n", "yesterday"), good)}, 401, ReasonAuthenticationFailed, "not an xsd:dateTime"},
		{"wsse digest without nonce", req{"text/xml", "", "", env(V11, withoutNonce(digestToken(testUser, testPassword, "n", created)), good)}, 401, ReasonAuthenticationFailed, "needs wsse:Nonce"},
		{"wsse nonce not base64", req{"text/xml", "", "", env(V11, strings.Replace(digestToken(testUser, testPassword, "n", created), "bg==", "!!", 1), good)}, 401, ReasonAuthenticationFailed, "not base64"},
		{"wsse unsupported password type", req{"text/xml", "", "", env(V11, strings.Replace(textToken(testUser, testPassword), passwordText, "urn:x#Kerberos", 1), good)}, 401, ReasonAuthenticationFailed, "not supported"},
		{"basic and wsse users differ", req{"text/xml", "", "ok", env(V11, textToken("other", "pw"), good)}, 401, ReasonAuthenticationFailed, "unknown user"},
		{"basic unknown user", req{"text/xml", "", "mallory:" + testPassword, env(V11, "", good)}, 401, ReasonAuthenticationFailed, "unknown user or wrong password"},
		{"empty body", req{"text/xml", "", "ok", ""}, 500, ReasonMalformed, "the body is empty"},
		{"not xml", req{"text/xml", "", "ok", "hello"}, 500, ReasonMalformed, "text before the Envelope"},
		{"envelope without namespace", req{"text/xml", "", "ok", "<Envelope/>"}, 500, ReasonVersionMismatch, `Envelope namespace &#34;&#34; is neither`},
		{"not an envelope", req{"text/xml", "", "ok", "<Order/>"}, 500, ReasonMalformed, "must be a SOAP Envelope"},
		{"unknown envelope namespace", req{"", "", "ok", `<s:Envelope xmlns:s="urn:soap"><s:Body/></s:Envelope>`}, 500, ReasonVersionMismatch, "neither SOAP 1.1"},
		{"no body", req{"text/xml", "", "ok", `<soap:Envelope xmlns:soap="` + nsEnv11 + `"></soap:Envelope>`}, 500, ReasonMalformed, "has no Body"},
		{"empty Body", req{"text/xml", "", "ok", env(V11, "", "")}, 500, ReasonMalformed, "holds no operation"},
		{"two operations", req{"text/xml", "", "ok", env(V11, "", good+good)}, 500, ReasonMalformed, "exactly one operation"},
		{"header after body", req{"text/xml", "", "ok", strings.Replace(env(V11, "", good), "</soap:Envelope>", "<soap:Header/></soap:Envelope>", 1)}, 500, ReasonMalformed, "after Body"},
		{"element after envelope", req{"text/xml", "", "ok", env(V11, "", good) + "<x/>"}, 500, ReasonMalformed, "after the Envelope"},
		{"processing instruction", req{"text/xml", "", "ok", `<?php echo 1 ?>` + env(V11, "", good)}, 500, ReasonMalformed, "processing instruction"},
		{"declared encoding not read", req{"text/xml", "", "ok", strings.Replace(env(V11, "", good), "utf-8", "koi8-r", 1)}, 415, ReasonMediaType, `encoding &#34;koi8-r&#34; is not supported`},
		{"declared us-ascii with a high byte", req{"text/xml", "", "ok", strings.Replace(strings.Replace(env(V11, "", good), "utf-8", "us-ascii", 1), ">R<", ">\xe9<", 1)}, 500, ReasonMalformed, "byte 0xE9 at offset"},
		{"utf-16 without charset", req{"text/xml", "", "ok", utf16LE(env(V11, "", good))}, 415, ReasonMediaType, "UTF-16"},
		{"utf-16 charset", req{"text/xml; charset=utf-16", "", "ok", utf16LE(env(V11, "", good))}, 415, ReasonMediaType, `charset &#34;utf-16&#34; is not supported`},
		{"not well-formed names no Go internals", req{"text/xml", "", "ok", strings.Replace(env(V11, "", good), "</soap:Body>", "", 1)}, 500, ReasonMalformed, "the body is not well-formed XML: line 1: element &lt;Body&gt; closed by &lt;/Envelope&gt;"},
		{"wrong operation namespace", req{"text/xml", "", "ok", env(V11, "", strings.Replace(good, "http://tempuri.org/", "urn:other", 1))}, 500, ReasonUnknownOperation, "namespace http://tempuri.org/"},
		{"parameter in wrong namespace", req{"text/xml", "", "ok", env(V11, "", strings.Replace(good, "<taskId>", `<taskId xmlns="urn:other">`, 1))}, 500, ReasonInvalidParameter, "element taskId must be in namespace http://tempuri.org/"},
		{"duplicate parameter", req{"text/xml", "", "ok", env(V11, "", opBody(ack, "taskId", "T-1", "taskId", "T-2", "externalReference", "R"))}, 500, ReasonInvalidParameter, "element taskId must appear at most once"},
		{"empty required parameter", req{"text/xml", "", "ok", env(V11, "", opBody(ack, "taskId", "", "externalReference", "R"))}, 500, ReasonInvalidParameter, "element taskId is required"},
		{"nil required parameter", req{"text/xml", "", "ok", env(V11, "", strings.Replace(good, "<taskId>T-1</taskId>", `<taskId xsi:nil="true"/>`, 1))}, 500, ReasonInvalidParameter, "element taskId is required"},
		{"nested element in parameter", req{"text/xml", "", "ok", env(V11, "", opBody(upd, "taskId", "T-1", "message", "<b>bold</b>"))}, 500, ReasonInvalidParameter, "element message must hold text only"},
		{"text in operation element", req{"text/xml", "", "ok", env(V11, "", `<`+ack+` xmlns="http://tempuri.org/">T-1</`+ack+`>`)}, 500, ReasonInvalidParameter, "must hold parameter elements"},
		{"1.2 sender fault is HTTP 500 (WCF reads no other)", req{"application/soap+xml", "", "ok", env(V12, "", opBody(ack, "taskId", "T-1"))}, 500, ReasonInvalidParameter, "element externalReference is required"},
		{"1.2 action mismatch", req{`application/soap+xml; action="http://tempuri.org/` + upd + `"`, "", "ok", env(V12, "", good)}, 500, ReasonActionMismatch, "names operation " + upd},
		{"bad content type", req{"text/xml; =", "", "ok", env(V11, "", good)}, 415, ReasonMediaType, "cannot be parsed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			h := newTestHandler(t, rec, func(o *Options) { o.Now = func() time.Time { return testNow } })
			w := tc.q.do(t, h)
			body := w.Body.String()
			if got := faultReason(body); w.Code != tc.status || got != tc.reason {
				t.Errorf("POST = %d %s, want %d %s\n%s", w.Code, got, tc.status, tc.reason, body)
			}
			var text string
			if _, rest, ok := strings.Cut(body, "<faultstring>"); ok {
				text, _, _ = strings.Cut(rest, "</faultstring>")
			} else if _, rest, ok := strings.Cut(body, `<soap:Text xml:lang="en">`); ok {
				text, _, _ = strings.Cut(rest, "</soap:Text>")
			}
			if !strings.Contains(text, tc.text) {
				t.Errorf("fault text %q does not contain %q", text, tc.text)
			}
			if n := len(rec.Calls()); n != 0 {
				t.Errorf("backend got %d calls, want 0", n)
			}
			if err := wellFormed(w.Body.Bytes()); err != nil {
				t.Errorf("fault is not well-formed XML: %v", err)
			}
		})
	}
}

// utf16LE encodes s as UTF-16LE with a byte order mark.
func utf16LE(s string) string {
	var b strings.Builder
	b.WriteString("\xff\xfe")
	for _, u := range utf16.Encode([]rune(s)) {
		b.WriteByte(byte(u))
		b.WriteByte(byte(u >> 8))
	}
	return b.String()
}

// TestLegacyEncodings checks that ISO-8859-1 and US-ASCII bodies, declared in
// the XML declaration or the Content-Type, reach the backend as UTF-8.
func TestLegacyEncodings(t *testing.T) {
	latin1 := func(s string) string { // s holds only runes below 256
		b := make([]byte, 0, len(s))
		for _, r := range s {
			b = append(b, byte(r))
		}
		return string(b)
	}
	body := func(decl string) string {
		return `<?xml version="1.0" encoding="` + decl + `"?>` + env(V11, "", opBody(upd, "taskId", "T-1", "message", "Technician on site: été, Größe"))[len(`<?xml version="1.0" encoding="utf-8"?>`):]
	}
	for _, tc := range []struct {
		name, ct, body, want string
	}{
		{"declaration ISO-8859-1", "text/xml", latin1(body("ISO-8859-1")), "Technician on site: été, Größe"},
		{"declaration latin1, charset wins", "text/xml; charset=iso-8859-1", latin1(body("latin1")), "Technician on site: été, Größe"},
		{"charset iso-8859-1, no declaration", "text/xml; charset=ISO-8859-1", latin1(env(V11, "", opBody(upd, "taskId", "T-1", "message", "été"))), "été"},
		{"declaration us-ascii", "text/xml", strings.Replace(env(V11, "", opBody(upd, "taskId", "T-1", "message", "plain")), "utf-8", "us-ascii", 1), "plain"},
		{"charset utf-8 wins over a latin-1 declaration", "text/xml; charset=utf-8", body("ISO-8859-1"), "Technician on site: été, Größe"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			h := newTestHandler(t, rec, nil)
			w := req{tc.ct, "", "ok", tc.body}.do(t, h)
			if w.Code != 200 {
				t.Fatalf("POST = %d, want 200\n%s", w.Code, w.Body)
			}
			calls := rec.Calls()
			if len(calls) != 1 || calls[0].Params["message"] != tc.want {
				t.Fatalf("backend got %+v, want message %q", calls, tc.want)
			}
		})
	}
}

func withoutNonce(tok string) string {
	before, rest, _ := strings.Cut(tok, "<wsse:Nonce")
	_, after, _ := strings.Cut(rest, "</wsse:Nonce>")
	return before + after
}

func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := d.Token(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func TestNonceReplayRefused(t *testing.T) {
	rec := &recorder{}
	now := testNow
	h := newTestHandler(t, rec, func(o *Options) { o.Now = func() time.Time { return now } })
	body := env(V11, digestToken(testUser, testPassword, "once", testNow.Format(time.RFC3339)), opBody(ack, "taskId", "T-1", "externalReference", "R"))
	if w := (req{"text/xml", "", "", body}).do(t, h); w.Code != 200 {
		t.Fatalf("first POST = %d, want 200\n%s", w.Code, w.Body)
	}
	now = now.Add(4 * time.Minute) // still within the skew: only the nonce cache stops it
	w := (req{"text/xml", "", "", body}).do(t, h)
	if w.Code != 401 || !strings.Contains(w.Body.String(), "wsse:Nonce has been used already") {
		t.Errorf("replayed POST = %d %s, want 401 naming the replayed nonce", w.Code, w.Body)
	}
	if n := len(rec.Calls()); n != 1 {
		t.Errorf("backend got %d calls, want 1", n)
	}
}

type brokenCache struct{}

func (brokenCache) Remember(context.Context, string, time.Duration) (bool, error) {
	return false, errors.New("redis down")
}

func TestNonceCacheErrorIsServerFault(t *testing.T) {
	h := newTestHandler(t, &recorder{}, func(o *Options) {
		o.Now = func() time.Time { return testNow }
		o.Nonces = brokenCache{}
	})
	body := env(V12, digestToken(testUser, testPassword, "n", testNow.Format(time.RFC3339)), opBody(ack, "taskId", "T-1", "externalReference", "R"))
	w := (req{"application/soap+xml", "", "", body}).do(t, h)
	if w.Code != 500 || faultReason(w.Body.String()) != ReasonUnavailable || !strings.Contains(w.Body.String(), "soap:Receiver") {
		t.Errorf("POST with a broken nonce cache = %d %s, want 500 Receiver %s", w.Code, w.Body, ReasonUnavailable)
	}
}

func TestMemoryNonceCache(t *testing.T) {
	now := testNow
	c := NewMemoryNonceCache(2, func() time.Time { return now })
	ctx := context.Background()
	for _, step := range []struct {
		key     string
		advance time.Duration
		fresh   bool
		err     error
	}{
		{"a", 0, true, nil},
		{"a", time.Minute, false, nil},
		{"b", 0, true, nil},
		{"c", 0, false, ErrNonceCacheFull},
		{"a", 10 * time.Minute, true, nil}, // a and b expired: swept
		{"c", 0, true, nil},
	} {
		now = now.Add(step.advance)
		fresh, err := c.Remember(ctx, step.key, 10*time.Minute)
		if fresh != step.fresh || !errors.Is(err, step.err) {
			t.Errorf("Remember(%q) at +%s = %v, %v, want %v, %v", step.key, now.Sub(testNow), fresh, err, step.fresh, step.err)
		}
	}
}

func TestNoUsersRefusesEveryCall(t *testing.T) {
	rec := &recorder{}
	h, err := NewHandler(SSP7Contract(), rec, nil)
	if err != nil {
		t.Fatal(err)
	}
	w := (req{"text/xml", "", "ok", env(V11, "", opBody(ack, "taskId", "T-1", "externalReference", "R"))}).do(t, h)
	if w.Code != 401 || !strings.Contains(w.Body.String(), "no credentials are configured") {
		t.Errorf("POST to a handler without users = %d %s, want 401 naming the missing configuration", w.Code, w.Body)
	}
	if len(rec.Calls()) != 0 {
		t.Error("backend was called")
	}
}

func TestBackendErrors(t *testing.T) {
	var logs bytes.Buffer
	h := newTestHandler(t, &recorder{}, func(o *Options) { o.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) })
	w := (req{"text/xml", "", "ok", env(V11, "", opBody(upd, "taskId", "boom", "message", "m"))}).do(t, h)
	body := w.Body.String()
	if w.Code != 500 || !strings.Contains(body, "soap:Server") || strings.Contains(body, "hunter2") || strings.Contains(body, "10.0.0.7") {
		t.Errorf("POST failing internally = %d %s, want a Server fault without the error text", w.Code, body)
	}
	_, ref, _ := strings.Cut(body, "reference ")
	ref, _, _ = strings.Cut(ref, "<")
	if ref == "" || !strings.Contains(logs.String(), `"reference":"`+ref+`"`) {
		t.Errorf("log %s does not carry the fault's reference %q", logs.String(), ref)
	}
}

func TestCallFields(t *testing.T) {
	rec := &recorder{}
	var raw []byte
	h := newTestHandler(t, BackendFunc(func(ctx context.Context, c *Call) (string, error) {
		raw = c.Raw
		return rec.Invoke(ctx, c)
	}), nil)
	wsa := `<wsa:MessageID xmlns:wsa="http://www.w3.org/2005/08/addressing"> urn:uuid:1234 </wsa:MessageID>`
	body := env(V11, wsa, opBody(upd, "taskId", "T-1", "message", "m"))
	if w := (req{"text/xml", `"http://tempuri.org/` + upd + `"`, "ok", body}).do(t, h); w.Code != 200 {
		t.Fatalf("POST = %d %s", w.Code, w.Body)
	}
	c := rec.Calls()[0]
	if c.MessageID != "urn:uuid:1234" || c.Action != "http://tempuri.org/"+upd || string(raw) != body {
		t.Errorf("call MessageID %q Action %q Raw %q, want urn:uuid:1234, the action and the body", c.MessageID, c.Action, raw)
	}
	// A PasswordText never reaches the backend's raw copy.
	tok := textToken(testUser, testPassword)
	body2 := env(V11, tok, opBody(upd, "taskId", "T-2", "message", "m"))
	if w := (req{"text/xml", "", "", body2}).do(t, h); w.Code != 200 {
		t.Fatalf("POST = %d %s", w.Code, w.Body)
	}
	if strings.Contains(string(raw), testPassword) || !strings.Contains(string(raw), passwordText+`">[redacted]</wsse:Password>`) {
		t.Errorf("Raw = %s, want the password redacted", raw)
	}
	if want := strings.Replace(body2, testPassword, "[redacted]", 1); string(raw) != want {
		t.Errorf("Raw = %s, want %s", raw, want)
	}
	if got, want := string(c.Document()), `{"operation":"`+upd+`","params":{"message":"m","taskId":"T-1"},"username":"`+testUser+`"}`; got != want {
		t.Errorf("Document() = %s, want %s", got, want)
	}
	var doc []byte
	hDoc := newTestHandler(t, BackendFunc(func(_ context.Context, c *Call) (string, error) { doc = c.Document(); return "", nil }), nil)
	if w := (req{"text/xml", "", "ok", env(V11, "", opBody(rea, "taskId", "T-3", "solution", " s ", "closed", "1"))}).do(t, hDoc); w.Code != 200 {
		t.Fatalf("POST = %d %s", w.Code, w.Body)
	}
	if want := `{"operation":"` + rea + `","params":{"closed":true,"solution":" s ","taskId":"T-3"},"username":"` + testUser + `"}`; string(doc) != want {
		t.Errorf("Document() = %s, want %s", doc, want)
	}
	same := Call{Operation: upd, Params: map[string]string{"message": "m", "taskId": "T-1"}, Version: V12, Username: "x"}
	other := Call{Operation: upd, Params: map[string]string{"message": "m2", "taskId": "T-1"}}
	swapped := Call{Operation: upd, Params: map[string]string{"message": "T-1", "taskId": "m"}}
	if c.Digest() != same.Digest() {
		t.Errorf("Digest differs for the same operation and params over another version/user")
	}
	if c.Digest() == other.Digest() || c.Digest() == swapped.Digest() {
		t.Errorf("Digest is the same for different params")
	}
}

func TestGet(t *testing.T) {
	h := newTestHandler(t, &recorder{}, nil)
	hPublic := newTestHandler(t, &recorder{}, func(o *Options) { o.PublicURL = "https://gw.example.com/" })
	for _, tc := range []struct {
		h              http.Handler
		method, target string
		status         int
		contains       string
	}{
		{h, "GET", DefaultPath + "?WSDL", 200, `<soap:address location="http://gateway.example` + DefaultPath + `" />`},
		{h, "GET", DefaultPath + "?wsdl", 200, `<soap12:address location="http://gateway.example` + DefaultPath + `" />`},
		{h, "GET", DefaultPath + "?Wsdl", 200, `soapAction="http://tempuri.org/` + rea + `"`},
		{hPublic, "GET", DefaultPath + "?wsdl", 200, `location="https://gw.example.com` + DefaultPath + `"`},
		{h, "GET", "/workflow/webservice/WORKFLOWSERVICE.ASMX?op=" + upd, 200, "&lt;message&gt;string&lt;/message&gt;"},
		{h, "GET", DefaultPath + "?op=Nope", 404, "Operation Nope is not part of this service."},
		{h, "GET", DefaultPath, 200, `<a href="?op=` + ack + `">`},
		{h, "HEAD", DefaultPath + "?WSDL", 200, ""},
		{h, "GET", "/other.asmx?WSDL", 404, ""},
		{h, "PUT", DefaultPath, 405, ""},
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		r.Host = "gateway.example"
		w := testutil.Serve(t, tc.h, r)
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.contains) {
			t.Errorf("%s %s = %d (body holds %q: %v), want %d", tc.method, tc.target, w.Code, tc.contains,
				strings.Contains(w.Body.String(), tc.contains), tc.status)
		}
	}
}

func TestMatches(t *testing.T) {
	h := newTestHandler(t, &recorder{}, nil)
	for path, want := range map[string]bool{
		DefaultPath: true, "/Workflow/Webservice/WorkflowService.asmx": true, "/workflow/webservice/workflowservice.asmx": true,
		"/Workflow/WebService/WorkflowService.asmx/": false, "/WorkflowService.asmx": false,
	} {
		if got := h.Matches(path); got != want {
			t.Errorf("Matches(%q) = %v, want %v", path, got, want)
		}
	}
}

func TestWSDLFollowsContract(t *testing.T) {
	c := SSP7Contract()
	base := c.WSDL()
	if err := wellFormed(base); err != nil {
		t.Fatalf("WSDL is not well-formed: %v", err)
	}
	c.Namespace = "urn:customer:workflow"
	c.Operations = append(c.Operations, Operation{Name: "ProcessInstanceTaskExternalPriority",
		Params: []Param{{Name: "taskId", Required: true}, {Name: "priority", Type: TypeInt}, {Name: "due", Type: TypeDateTime}}})
	got := string(c.WSDL())
	for _, want := range []string{
		`targetNamespace="urn:customer:workflow"`,
		`<s:element name="ProcessInstanceTaskExternalPriority">`,
		`<s:element minOccurs="0" maxOccurs="1" name="priority" type="s:int" />`,
		`<s:element minOccurs="0" maxOccurs="1" name="due" type="s:dateTime" />`,
		`soapAction="urn:customer:workflow/ProcessInstanceTaskExternalPriority"`,
		`<soap:address location="` + DefaultPath + `" />`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("WSDL of the changed contract lacks %s", want)
		}
	}
	// The new operation is served, and validates its typed parameters.
	rec := &recorder{}
	h, err := NewHandler(c, rec, &Options{Users: []User{{Name: testUser, Password: NewSecret(testPassword)}}})
	if err != nil {
		t.Fatal(err)
	}
	body := env(V11, "", `<P xmlns="urn:customer:workflow"><taskId>T-1</taskId><priority> 7 </priority><due>2026-05-04T10:00:00+02:00</due></P>`)
	body = strings.ReplaceAll(body, "<P ", "<ProcessInstanceTaskExternalPriority ")
	body = strings.ReplaceAll(body, "</P>", "</ProcessInstanceTaskExternalPriority>")
	if w := (req{"text/xml", "", "ok", body}).do(t, h); w.Code != 200 {
		t.Fatalf("POST new operation = %d %s", w.Code, w.Body)
	}
	if p := rec.Calls()[0].Params; p["priority"] != "7" || p["due"] != "2026-05-04T10:00:00+02:00" {
		t.Errorf("params = %v, want priority 7 and due as sent", p)
	}
	if doc := rec.Calls()[0].Document(); !strings.Contains(string(doc), `"priority":7,`) {
		t.Errorf("Document() = %s, want priority as the number 7", doc)
	}
	for _, bad := range []string{"<priority>seven</priority>", "<priority>99999999999</priority>", "<due>tomorrow</due>"} {
		b := strings.Replace(body, "<priority> 7 </priority>", bad, 1)
		b = strings.Replace(b, "<due>2026-05-04T10:00:00+02:00</due>", "", strings.Count(bad, "due"))
		if w := (req{"text/xml", "", "ok", b}).do(t, h); w.Code != 500 || faultReason(w.Body.String()) != ReasonInvalidParameter {
			t.Errorf("POST with %s = %d %s, want an InvalidParameter fault", bad, w.Code, w.Body)
		}
	}
}

func TestContractValidate(t *testing.T) {
	c := SSP7Contract()
	if err := c.Validate(); err != nil {
		t.Fatalf("SSP7Contract().Validate() = %v", err)
	}
	c.Service = "Work flow"
	c.Path = "noslash"
	c.Operations = append(c.Operations, Operation{Name: ack, Params: []Param{{Name: "x", Type: "float"}, {Name: "x", MaxLength: -1}}})
	err := c.Validate()
	if !errors.Is(err, ErrContract) {
		t.Fatalf("Validate() = %v, want ErrContract", err)
	}
	for _, want := range []string{
		`service: must be an XML name, got "Work flow"`,
		`path: must start with /, got "noslash"`,
		`operations[3].name: is declared twice`,
		`operations[3].params[0].type: must be string, int, boolean or dateTime, got "float"`,
		`operations[3].params[1].name: is declared twice`,
		`operations[3].params[1].max_length: must not be negative, got -1`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to contain %s", err, want)
		}
	}
	if _, err := NewHandler(c, &recorder{}, nil); !errors.Is(err, ErrContract) {
		t.Errorf("NewHandler(bad contract) = %v, want ErrContract", err)
	}
}

func TestNewHandlerOptions(t *testing.T) {
	for _, tc := range []struct {
		users []User
		want  string
	}{
		{[]User{{Name: "", Password: NewSecret("p")}}, "options.users[0].name: is required"},
		{[]User{{Name: "a"}}, `options.users[0].password: is required (user "a")`},
		{[]User{{Name: "a", Password: NewSecret("p")}, {Name: "a", Password: NewSecret("q")}}, `options.users[1].name: "a" is declared twice`},
	} {
		_, err := NewHandler(SSP7Contract(), &recorder{}, &Options{Users: tc.users})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewHandler(users %v) = %v, want %s", tc.users, err, tc.want)
		}
	}
	if _, err := NewHandler(SSP7Contract(), nil, nil); err == nil {
		t.Error("NewHandler(nil backend) = nil error")
	}
}

// TestSecretsNeverLogged sends calls with right and wrong passwords and
// checks that no password reaches the log or a printed value.
func TestSecretsNeverLogged(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opt := func(o *Options) { o.Logger = logger; o.Now = func() time.Time { return testNow } }
	h := newTestHandler(t, &recorder{}, opt)
	good := opBody(ack, "taskId", "T-1", "externalReference", "R")
	for _, q := range []req{
		{"text/xml", "", "ok", env(V11, "", good)},
		{"text/xml", "", testUser + ":wrong-Pa55word", env(V11, "", good)},
		{"text/xml", "", "", env(V11, textToken(testUser, "wrong-Pa55word"), good)},
		{"text/xml", "", "", env(V11, textToken(testUser, testPassword), good)},
	} {
		q.do(t, h)
	}
	u := User{Name: testUser, Password: NewSecret(testPassword)}
	logger.Info("options", "user", u, "password", u.Password)
	var anyU any = u // every verb, even those vet would flag
	printed := fmt.Sprintf("%v %+v %#v %s %d %x %q", u, u, u, u.Password, anyU, anyU, anyU)
	for _, secret := range []string{testPassword, "wrong-Pa55word"} {
		if strings.Contains(logs.String(), secret) || strings.Contains(printed, secret) {
			t.Errorf("a password reached the log or a printed value:\n%s\n%s", logs.String(), printed)
		}
	}
	if !strings.Contains(logs.String(), `"soap call"`) || !strings.Contains(logs.String(), "[redacted]") {
		t.Errorf("log lacks the call lines or the redacted secret:\n%s", logs.String())
	}
}

func TestUserFromEnv(t *testing.T) {
	t.Setenv("SSP7_SOAP_USER", "ssp7")
	t.Setenv("SSP7_SOAP_PASSWORD", "")
	if _, err := UserFromEnv("SSP7_SOAP_USER", "SSP7_SOAP_PASSWORD"); err == nil || !strings.Contains(err.Error(), "SSP7_SOAP_PASSWORD") {
		t.Errorf("UserFromEnv with no password = %v, want an error naming SSP7_SOAP_PASSWORD", err)
	}
	t.Setenv("SSP7_SOAP_PASSWORD", "pw")
	u, err := UserFromEnv("SSP7_SOAP_USER", "SSP7_SOAP_PASSWORD")
	if err != nil || u.Name != "ssp7" || u.Password.Reveal() != "pw" {
		t.Errorf("UserFromEnv = %v %v, want ssp7 with its password", u, err)
	}
}
