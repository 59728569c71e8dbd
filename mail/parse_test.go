package mail

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func b64(b []byte) string {
	s := base64.StdEncoding.EncodeToString(b)
	var out strings.Builder
	for len(s) > 76 {
		out.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	out.WriteString(s)
	return out.String()
}

func TestParseGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.eml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.eml: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".eml")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(f)
			testMust(t, err)
			m, err := Parse(raw, nil)
			got := map[string]any{}
			if m != nil {
				doc, derr := m.Document()
				testMust(t, derr)
				testMust(t, json.Unmarshal(doc, &got))
			}
			if err != nil {
				got["error_reason"] = Reason(err)
			}
			wantFile := strings.TrimSuffix(f, ".eml") + ".json"
			if os.Getenv("UPDATE_GOLDEN") == "1" {
				b, _ := json.MarshalIndent(got, "", "  ")
				testMust(t, os.WriteFile(wantFile, append(b, '\n'), 0o644))
			}
			wb, err := os.ReadFile(wantFile)
			testMust(t, err)
			var want map[string]any
			testMust(t, json.Unmarshal(wb, &want))
			if !reflect.DeepEqual(got, want) {
				gb, _ := json.MarshalIndent(got, "", "  ")
				t.Errorf("Parse(%s) =\n%s\nwant\n%s", f, gb, wb)
			}
		})
	}
}

func testMust(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestStripReplyPrefixes(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Re: [Task#T-1] x", "[Task#T-1] x"},
		{"RE: AW: Fwd: WG:  hello", "hello"},
		{"Re[2]: hello", "hello"},
		{"SV: VS: Antw: hei", "hei"},
		{"Aw : FW:x", "x"},
		{"Reply to this", "Reply to this"},
		{"Report: done", "Report: done"},
	}
	for _, c := range cases {
		if got := (*Rules)(nil).StripReplyPrefixes(c.in); got != c.want {
			t.Errorf("StripReplyPrefixes(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestNewPart(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"attribution", "Done.\n\nOn Mon, 23 Nov 2026, Jane <j@x> wrote:\n> old\n> older", "Done."},
		{"wrapped attribution", "Done.\n\nOn Mon, 23 Nov 2026 at 10:00, Jane Doe <\njane@x.example> wrote:\n> old", "Done."},
		{"german", "Erledigt.\n\nAm 23.11.2026 um 10:00 schrieb Max Muster <m@x>:\n> alt", "Erledigt."},
		{"outlook", "Fixed.\n\n-----Original Message-----\nFrom: gw\nSent: Monday\nold", "Fixed."},
		{"outlook header block", "Fixed.\n\n________________________________\nFrom: Gateway <gw@x>\nSent: Monday\nTo: desk\nold", "Fixed."},
		{"von block", "Behoben.\n\nVon: Gateway <gw@x>\nGesendet: Montag\nAn: desk\nalt", "Behoben."},
		{"signature", "Done.\n-- \nJane\nPhone 123", "Done."},
		{"mobile", "Done.\n\nSent from my iPhone", "Done."},
		{"inline quotes removed", "> question?\nanswer\n> next?\nsecond", "answer\nsecond"},
		{"keeps plain text", "Line one\n\n\n\nLine two", "Line one\n\nLine two"},
		{"From in prose kept", "From: our side we did X\nand more", "From: our side we did X\nand more"},
	}
	for _, c := range cases {
		if got := NewPart(c.in); got != c.want {
			t.Errorf("%s: NewPart(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
	}
}

func TestExtractTags(t *testing.T) {
	tags, rest := ExtractTags("Hi\n[[Action]]: Reassign\n  [[ExternalReference]]:INC1  \n[[Solution]]:\nline one\nline two\n\n[[Note]]: x")
	want := map[string]string{"Action": "Reassign", "ExternalReference": "INC1", "Solution": "line one\nline two", "Note": "x"}
	if !reflect.DeepEqual(tags, want) {
		t.Errorf("ExtractTags() tags = %q, want %q", tags, want)
	}
	if rest != "Hi" {
		t.Errorf("ExtractTags() rest = %q, want %q", rest, "Hi")
	}
}

func TestHTMLToText(t *testing.T) {
	in := `<html><head><style>p{}</style><title>t</title></head><body><p>Hello&nbsp;team,</p><div>fixed <b>now</b>.<br>bye</div>` +
		`<script>alert(1)</script><div class="gmail_quote">On Mon, X wrote:<blockquote>old</blockquote></div></body></html>`
	got := HTMLToText(in)
	if got != "Hello team,\nfixed now.\nbye\n> On Mon, X wrote:\n>> old" {
		t.Errorf("HTMLToText() = %q", got)
	}
	if np := NewPart(got); np != "Hello team,\nfixed now.\nbye" {
		t.Errorf("NewPart(HTMLToText()) = %q", np)
	}
	outlook := `<div>Done</div><div id="divRplyFwdMsg"><b>From:</b> gw</div><div>old stuff</div>`
	if np := NewPart(HTMLToText(outlook)); np != "Done" {
		t.Errorf("NewPart(HTMLToText(outlook)) = %q, want Done", np)
	}
}

func TestParseCorrelation(t *testing.T) {
	rules := &Rules{Matchers: []Matcher{
		{Name: "irt", Source: "header:In-Reply-To", Pattern: `^<?task-(?P<ref>[^@]+)@gw`},
		{Name: "refs-last", Source: "header:References", Pattern: `<task-(?P<id>[^@]+)@gw\.example>`, Group: "id", Last: true},
		{Name: "subject", Source: "subject", Pattern: `\[Task#(?P<ref>[^\]]+)\]`},
	}}
	cases := []struct {
		name, hdr, subject, want, by string
	}{
		{"in-reply-to wins", "In-Reply-To: <task-A1@gw.example>\r\nReferences: <task-B@gw.example>", "[Task#C]", "A1", "irt"},
		{"references last", "References: <task-B1@gw.example> <x@y> <task-B2@gw.example>", "[Task#C]", "B2", "refs-last"},
		{"subject after prefixes", "", "Re: AW: [Task#C3] hi", "C3", "subject"},
	}
	for _, c := range cases {
		var extra []string
		if c.hdr != "" {
			extra = strings.Split(c.hdr, "\r\n")
		}
		m, err := Parse(mkMail("x@y", c.subject, "body", extra...), rules)
		if err != nil || m.Correlation != c.want || m.MatchedBy != c.by {
			t.Errorf("%s: Parse() correlation %q by %q, err %v; want %q by %q", c.name, m.Correlation, m.MatchedBy, err, c.want, c.by)
		}
	}
	if _, err := Parse(mkMail("x@y", "no ref", "body"), rules); !errors.Is(err, ErrNoTag) {
		t.Errorf("Parse(no reference) err = %v, want ErrNoTag", err)
	}
}

func TestRulesValidate(t *testing.T) {
	cases := []struct {
		r    Rules
		want string
	}{
		{Rules{Matchers: []Matcher{{Source: "footer", Pattern: `(?P<ref>x)`}}}, "matchers[0].source"},
		{Rules{Matchers: []Matcher{{Source: "subject", Pattern: `(x`}}}, "matchers[0].pattern"},
		{Rules{Matchers: []Matcher{{Source: "subject", Pattern: `(?P<id>x)`}}}, `no group named "ref"`},
		{Rules{TagPattern: `\[\[(\w+)\]\]`}, "tag_pattern"},
		{Rules{Limits: Limits{AllowedTypes: []string{"pdf"}}}, "limits.allowed_types[0]"},
	}
	for _, c := range cases {
		err := c.r.Validate()
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Validate(%+v) = %v, want ErrConfig naming %s", c.r, err, c.want)
		}
	}
	if err := (*Rules)(nil).Validate(); err != nil {
		t.Errorf("Validate(nil) = %v, want nil", err)
	}
}

func TestIdempotencyKey(t *testing.T) {
	m := mkMail("k@provider", "[Task#T-1] x", "text")
	a, _ := Parse(m, nil)
	b, _ := Parse(append([]byte("Received: from relay\r\nX-Spam-Score: 1\r\n"), m...), nil)
	c, _ := Parse(mkMail("k@provider", "[Task#T-1] x", "other text"), nil)
	d, _ := Parse(mkMail("", "[Task#T-1] x", "text"), nil)
	if a.Key != b.Key {
		t.Errorf("key changed with transport headers: %s vs %s", a.Key, b.Key)
	}
	if a.Key == c.Key {
		t.Errorf("same key for the same Message-ID with another body")
	}
	if a.Key == d.Key || d.Key == "" {
		t.Errorf("key without Message-ID = %q, want a digest distinct from %q", d.Key, a.Key)
	}
}

// TestMIMEBombs shows that hostile shapes end in ErrTooLarge without reading
// further than the limits.
func TestMIMEBombs(t *testing.T) {
	cases := []struct {
		name string
		raw  []byte
	}{
		{"thousands of parts", manyParts(5000)},
		{"deep nesting", deepNesting(2000)},
		{"huge header", []byte("From: a@b\r\nSubject: [Task#T-1] x\r\nX-Pad: " + strings.Repeat("a", 200<<10) + "\r\n\r\nbody")},
		{"many header lines", []byte("From: a@b\r\n" + strings.Repeat("X-H: v\r\n", 20000) + "\r\nbody")},
		{"huge part header", []byte("From: a@b\r\nSubject: [Task#T-1]\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n" +
			strings.Repeat("X-P: "+strings.Repeat("p", 900)+"\r\n", 100) + "\r\nhi\r\n--b--\r\n")},
		{"over total", append(mkMail("big@x", "[Task#T-1]", ""), bytes.Repeat([]byte("x"), 26<<20)...)},
		{"too many attachments", manyAttachments(21)},
		{"big text", mkMail("t@x", "[Task#T-1]", strings.Repeat("word ", (1<<20)/5+10))},
	}
	for _, c := range cases {
		_, err := Parse(c.raw, nil)
		if !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: Parse() = %v, want ErrTooLarge", c.name, err)
		}
	}
}

func manyParts(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: a@b\r\nSubject: [Task#T-1] x\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n")
	for range n {
		b.WriteString("--z\r\nContent-Type: text/plain\r\n\r\nx\r\n")
	}
	b.WriteString("--z--\r\n")
	return b.Bytes()
}

func deepNesting(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: a@b\r\nSubject: [Task#T-1] x\r\n")
	for i := range n {
		fmt.Fprintf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i)
	}
	b.WriteString("Content-Type: text/plain\r\n\r\ndeep\r\n")
	for i := n - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "--b%d--\r\n", i)
	}
	return b.Bytes()
}

func manyAttachments(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: a@b\r\nSubject: [Task#T-1] x\r\nContent-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\nContent-Type: text/plain\r\n\r\nsee\r\n")
	for i := range n {
		fmt.Fprintf(&b, "--z\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"p%d.png\"\r\n\r\npng\r\n", i)
	}
	b.WriteString("--z--\r\n")
	return b.Bytes()
}

func TestDirStore(t *testing.T) {
	s := &DirStore{Dir: t.TempDir()}
	content := []byte("hello")
	const sum = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
	p1, err := s.Put(context.Background(), sum, bytes.NewReader(content))
	testMust(t, err)
	p2, err := s.Put(context.Background(), sum, bytes.NewReader(content))
	testMust(t, err)
	if p1 != p2 || filepath.Base(p1) != sum {
		t.Errorf("Put() twice = %q, %q; want the same path named by the digest", p1, p2)
	}
	if got, _ := os.ReadFile(p1); string(got) != "hello" {
		t.Errorf("stored content = %q", got)
	}
	if _, err := s.Put(context.Background(), strings.Repeat("0", 64), bytes.NewReader(content)); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("Put(wrong digest) = %v, want ErrDigestMismatch", err)
	}
	if _, err := s.Put(context.Background(), "../../etc/passwd", bytes.NewReader(content)); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("Put(path) = %v, want ErrDigestMismatch", err)
	}
	if left, _ := filepath.Glob(filepath.Join(s.Dir, "*", ".put-*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestSecretNeverLogged(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&buf, nil))
	cfg := MailboxConfig{Addr: "imap.example:993", User: "u", Password: "hunter2"}
	log.Info("cfg", "password", cfg.Password, "cfg", cfg)
	fmt.Fprintf(&buf, "%v %+v %#v %s", cfg, cfg, cfg, cfg.Password)
	jb, _ := json.Marshal(cfg)
	buf.Write(jb)
	if strings.Contains(buf.String(), "hunter2") {
		t.Errorf("password reached the output: %s", buf.String())
	}
	if cfg.Password.Reveal() != "hunter2" {
		t.Errorf("Reveal() = %q", cfg.Password.Reveal())
	}
}

// TestNamedTagPattern reads tags with a mapping-style pattern: named groups
// key and value, no (?m) flag.
func TestNamedTagPattern(t *testing.T) {
	r := &Rules{TagPattern: `^\[\[(?P<key>[A-Za-z]+)\]\]:\s*(?P<value>.*)$`}
	m, err := Parse(mkMail("n@x", "[Task#T-9] x", "Thanks\n[[Action]]: Acknowledge\n[[ExternalReference]]: INC7\n"), r)
	testMust(t, err)
	want := map[string]string{"Action": "Acknowledge", "ExternalReference": "INC7"}
	if !reflect.DeepEqual(m.Tags, want) || m.Text != "Thanks" {
		t.Errorf("Parse() tags %q text %q, want %q and Thanks", m.Tags, m.Text, want)
	}
}

// TestInlinePartNotAllowed: an inline logo of a type not allowed is left out
// with a warning; the same file as an attachment quarantines the mail.
func TestInlinePartNotAllowed(t *testing.T) {
	r := &Rules{Limits: Limits{AllowedTypes: []string{"application/pdf", "image/png"}}}
	mk := func(disp string) []byte {
		return []byte("From: a@b\r\nSubject: [Task#T-1] x\r\nContent-Type: multipart/related; boundary=r\r\n\r\n" +
			"--r\r\nContent-Type: text/html\r\n\r\n<p>Done</p><img src=\"cid:logo\">\r\n" +
			"--r\r\nContent-Type: image/gif; name=logo.gif\r\nContent-ID: <logo>\r\n" + disp + "\r\n\r\nGIF89a\r\n--r--\r\n")
	}
	m, err := Parse(mk("Content-Disposition: inline"), r)
	testMust(t, err)
	if len(m.Attachments) != 0 || len(m.Warnings) != 1 || !strings.Contains(m.Warnings[0], "logo.gif") || m.Text != "Done" {
		t.Errorf("Parse(inline gif) attachments %v warnings %q text %q; want none, one warning, Done", m.Attachments, m.Warnings, m.Text)
	}
	if _, err := Parse(mk("Content-Disposition: attachment"), r); !errors.Is(err, ErrTypeNotAllowed) {
		t.Errorf("Parse(attached gif) = %v, want ErrTypeNotAllowed", err)
	}
}

func TestAutoReply(t *testing.T) {
	cases := []struct {
		name string
		hdr  []string
		from string
		auto bool
	}{
		{"out of office", []string{"Auto-Submitted: auto-replied (vacation)"}, "", true},
		{"exchange autoreply", []string{"X-Autoreply: yes"}, "", true},
		{"precedence", []string{"Precedence: auto_reply"}, "", true},
		{"mailer daemon", nil, "MAILER-DAEMON@mx.provider.example", true},
		{"ticket system notification", []string{"Auto-Submitted: auto-generated", "Precedence: bulk"}, "", false},
		{"person", []string{"Auto-Submitted: no"}, "", false},
	}
	for _, c := range cases {
		raw := mkMail("a@x", "Re: [Task#T-1] x", "I am out of the office.", c.hdr...)
		if c.from != "" {
			raw = bytes.Replace(raw, []byte("From: Service Desk <desk@provider.example>"), []byte("From: "+c.from), 1)
		}
		_, err := Parse(raw, nil)
		if got := errors.Is(err, ErrAutoReply); got != c.auto {
			t.Errorf("%s: Parse() = %v, want auto reply %v", c.name, err, c.auto)
		}
		if c.auto {
			if _, err := Parse(raw, &Rules{AcceptAutoReplies: true}); err != nil {
				t.Errorf("%s: Parse(AcceptAutoReplies) = %v, want nil", c.name, err)
			}
		}
	}
	dsn := []byte("From: postmaster@mx.example\r\nSubject: Undelivered Mail Returned to Sender\r\n" +
		"Content-Type: multipart/report; report-type=delivery-status; boundary=d\r\n\r\n--d\r\nContent-Type: text/plain\r\n\r\n" +
		"Delivery failed.\r\n--d\r\nContent-Type: message/delivery-status\r\n\r\nStatus: 5.1.1\r\n--d\r\nContent-Type: text/rfc822-headers\r\n\r\n" +
		"Subject: [Task#T-1] x\r\n--d--\r\n")
	if _, err := Parse(dsn, nil); !errors.Is(err, ErrAutoReply) {
		t.Errorf("Parse(bounce) = %v, want ErrAutoReply", err)
	}
}
