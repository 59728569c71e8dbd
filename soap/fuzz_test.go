package soap

import (
	"bytes"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// seedEnvelopes adds every golden request body to f's corpus.
func seedEnvelopes(f *testing.F) {
	reqs, _ := filepath.Glob("testdata/golden/*.req")
	for _, p := range reqs {
		t := &testing.T{}
		_, _, _, body := goldenRequest(t, p)
		f.Add(body)
	}
	f.Add([]byte(env(V12, textToken("u", "p")+`<wsa:MessageID xmlns:wsa="`+nsWSA+`">m-1</wsa:MessageID>`,
		opBody(rea, "taskId", "a&amp;b", "solution", "<![CDATA[x]]>", "closed", "true"))))
	// Legacy encodings: ISO-8859-1 and US-ASCII declarations, UTF-16.
	f.Add([]byte(strings.Replace(env(V11, "", opBody(upd, "taskId", "T", "message", "caf\xe9")), "utf-8", "ISO-8859-1", 1)))
	f.Add([]byte(strings.Replace(env(V11, "", opBody(upd, "taskId", "T", "message", "caf\xe9")), "utf-8", "us-ascii", 1)))
	f.Add([]byte(utf16LE(env(V11, "", opBody(upd, "taskId", "T", "message", "x")))))
	// Password edge cases: empty, comment only, repeated.
	for _, pw := range []string{"<w:Password/>", "<w:Password><!--x--></w:Password>", "<w:Password>a</w:Password><w:Password/>", "<w:Password>a</w:Password><w:Password>b</w:Password>"} {
		f.Add([]byte(env(V11, `<w:Security xmlns:w="`+nsWSSE+`"><w:UsernameToken><w:Username>u</w:Username>`+pw+`</w:UsernameToken></w:Security>`, opBody(ack, "taskId", "T"))))
	}
}

// render writes e back as an envelope, escaping every value.
func (e *envelope) render() []byte {
	var b bytes.Buffer
	ns := nsEnv11
	if e.version == V12 {
		ns = nsEnv12
	}
	b.WriteString(`<s:Envelope xmlns:s="` + ns + `"><s:Header>`)
	if tok := e.security; tok != nil {
		b.WriteString(`<w:Security xmlns:w="` + nsWSSE + `" xmlns:u="` + nsWSU + `"><w:UsernameToken><w:Username>`)
		escape(&b, tok.username)
		b.WriteString(`</w:Username><w:Password Type="`)
		escape(&b, tok.passwordType)
		b.WriteString(`">`)
		escape(&b, tok.password)
		b.WriteString(`</w:Password><w:Nonce EncodingType="`)
		escape(&b, tok.nonceEncoding)
		b.WriteString(`">`)
		escape(&b, tok.nonce)
		b.WriteString(`</w:Nonce><u:Created>`)
		escape(&b, tok.created)
		b.WriteString(`</u:Created></w:UsernameToken></w:Security>`)
	}
	if e.messageID != "" {
		b.WriteString(`<a:MessageID xmlns:a="` + nsWSA + `">`)
		escape(&b, e.messageID)
		b.WriteString(`</a:MessageID>`)
	}
	b.WriteString(`</s:Header><s:Body>`)
	open := func(n xml.Name) {
		b.WriteString("<" + n.Local + ` xmlns="`)
		escape(&b, n.Space)
		b.WriteString(`"`)
	}
	open(e.op)
	b.WriteString(` xmlns:i="` + nsXSI + `">`)
	for _, p := range e.params {
		open(p.name)
		if p.nil {
			b.WriteString(` i:nil="true"`)
		}
		b.WriteString(">")
		escape(&b, p.value)
		b.WriteString("</" + p.name.Local + ">")
	}
	b.WriteString("</" + e.op.Local + "></s:Body></s:Envelope>")
	return b.Bytes()
}

// FuzzParseEnvelope checks the parser never panics, fails only with its
// sentinels, and that what it extracts survives being written and read again.
func FuzzParseEnvelope(f *testing.F) {
	seedEnvelopes(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := parseEnvelope(data, 16)
		if err != nil {
			var pe *ParamError
			if !errors.As(err, &pe) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooDeep) && !errors.Is(err, ErrDocType) &&
				!errors.Is(err, ErrVersionMismatch) && !errors.Is(err, ErrMustUnderstand) {
				t.Fatalf("parseEnvelope(%q) = %v, which wraps none of the parser's sentinels", data, err)
			}
			return
		}
		if e.version != V11 && e.version != V12 || e.op.Local == "" {
			t.Fatalf("parseEnvelope(%q) = version %q op %q, want a version and an operation", data, e.version, e.op.Local)
		}
		// Redacting the passwords keeps the document valid and changes nothing else.
		red, err := parseEnvelope(e.redact(data), 16)
		if err != nil {
			t.Fatalf("parseEnvelope(redact(%q)) = %v\n%s", data, err, e.redact(data))
		}
		if e.security != nil {
			if want := map[bool]string{true: "[redacted]", false: ""}[e.security.password != ""]; red.security == nil || red.security.password != want {
				t.Fatalf("redact(%q) left the password: %s", data, e.redact(data))
			}
			cp := *red.security
			cp.password = e.security.password
			red.security = &cp
		}
		red.secrets, e.secrets = nil, nil
		if !reflect.DeepEqual(e, red) {
			t.Fatalf("redact of %q changed more than the password:\n got %+v\nwant %+v", data, red, e)
		}
		again, err := parseEnvelope(e.render(), 16)
		if err != nil {
			t.Fatalf("parseEnvelope(render(%q)) = %v\n%s", data, err, e.render())
		}
		if e.params == nil {
			e.params = []rawParam{}
		}
		again.secrets = nil
		if again.params == nil {
			again.params = []rawParam{}
		}
		if !reflect.DeepEqual(e, again) {
			t.Fatalf("round trip of %q:\n got %+v\nwant %+v", data, again, e)
		}
	})
}

// FuzzHandler posts arbitrary bodies: every answer is a well-formed envelope,
// and a 200 only follows a backend call.
func FuzzHandler(f *testing.F) {
	seedEnvelopes(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		rec := &recorder{}
		h := newTestHandler(t, rec, func(o *Options) {
			o.Now = func() time.Time { return testNow }
			o.MaxBodyBytes = 4096
		})
		for _, ct := range []string{"text/xml", "application/soap+xml"} {
			r := httptest.NewRequest(http.MethodPost, DefaultPath, bytes.NewReader(data))
			r.Header.Set("Content-Type", ct)
			r.SetBasicAuth(testUser, testPassword)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if err := wellFormed(w.Body.Bytes()); err != nil {
				t.Fatalf("answer to %q is not well-formed: %v\n%s", data, err, w.Body)
			}
			if !strings.Contains(w.Body.String(), "Envelope") {
				t.Fatalf("answer to %q is not an envelope: %s", data, w.Body)
			}
			if w.Code == 200 && len(rec.Calls()) == 0 {
				t.Fatalf("answer to %q is 200 without a backend call", data)
			}
		}
	})
}

// FuzzToUTF8 checks the encoding step every body goes through: it never
// panics, what it returns is valid UTF-8 (the XML parser's input), and a
// refusal is a 415 or a MalformedEnvelope fault.
func FuzzToUTF8(f *testing.F) {
	for _, s := range []string{"", "<a/>", "\xef\xbb\xbf<a/>", "\xff\xfe<\x00a\x00/\x00>\x00", "\x00<\x00a",
		`<?xml version="1.0" encoding="ISO-8859-1"?><a>caf` + "\xe9</a>", `<?xml version="1.0" encoding="us-ascii"?><a>` + "\xe9</a>",
		`<?xml version='1.0' encoding='koi8-r'?><a/>`, `<?xml encoding="latin1"?>`} {
		for _, cs := range []string{"", encUTF8, encLatin1, encASCII} {
			f.Add([]byte(s), cs)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, charset string) {
		if charset != "" && encodingOf(charset) == "" {
			return // contentType refuses it before the body is read
		}
		charset = encodingOf(charset)
		out, fault := toUTF8(body, charset)
		if fault != nil {
			if fault.Reason != ReasonMediaType && fault.Reason != ReasonMalformed {
				t.Fatalf("toUTF8(%q, %q) = fault %s", body, charset, fault.Reason)
			}
			return
		}
		if (charset == encLatin1 || charset == encASCII) && !utf8.Valid(out) {
			t.Fatalf("toUTF8(%q, %q) = %q, not UTF-8", body, charset, out)
		}
	})
}
