package mail

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary bytes to the MIME reader. It must never panic,
// must stay within the limits, and whatever it accepts must make a valid
// document with a task reference.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.eml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(manyParts(50))
	f.Add(deepNesting(12))
	f.Add(manyAttachments(3))
	f.Add(attachmentMail("f@x", "[Task#T-1] x", "[[Action]]: Update\nhello"))
	f.Add([]byte("Subject: [Task#A]\r\nContent-Type: multipart/alternative; boundary=x\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<p>hi<blockquote>q</blockquote>\r\n--x--\r\n"))
	rules := &Rules{Limits: Limits{MaxParts: 20, MaxDepth: 4, MaxAttachments: 3, MaxAttachmentBytes: 4096, MaxHeaderBytes: 4096, MaxTotalBytes: 1 << 20}}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw, rules)
		if err != nil {
			if strings.Contains(err.Error(), "parser panic") {
				t.Fatalf("Parse() panicked (recovered): %v", err)
			}
			if Reason(err) == "" {
				t.Fatalf("Parse() error %v has no quarantine reason", err)
			}
			return
		}
		if m.Correlation == "" || m.Key == "" {
			t.Fatalf("Parse() ok without correlation or key: %+v", m)
		}
		if len(m.Attachments) > 3 {
			t.Fatalf("Parse() returned %d attachments, limit 3", len(m.Attachments))
		}
		for _, a := range m.Attachments {
			if a.Size > 4096 || int64(len(a.Content)) != a.Size || strings.ContainsAny(a.Name, "/\\\x00") {
				t.Fatalf("attachment %+v breaks the limits or the name rules", a)
			}
		}
		doc, err := m.Document()
		if err != nil || !json.Valid(doc) {
			t.Fatalf("Document() = %q, %v", doc, err)
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) {
			t.Fatalf("invalid UTF-8 in text %q or subject %q", m.Text, m.Subject)
		}
		again, err := Parse(raw, rules)
		if err != nil || again.Key != m.Key {
			t.Fatalf("Parse() is not deterministic: %v, key %s vs %s", err, again.Key, m.Key)
		}
	})
}

var tagKey = regexp.MustCompile(`^\w+$`)

// FuzzExtractTags checks the tag extractor: keys are words, and the text it
// returns holds no tag lines any more.
func FuzzExtractTags(f *testing.F) {
	f.Add("[[Action]]: Update\nhello")
	f.Add("x\n  [[Solution]]:\nline 1\nline 2\n[[ExternalReference]]: INC1")
	f.Add("[[A]]:[[B]]: c\n[[C]]")
	f.Add("\r\n[[TaskId]]: T-1\r\n[[Action]]:\r\n")
	f.Fuzz(func(t *testing.T, text string) {
		tags, rest := ExtractTags(text)
		if len(tags) > maxTags {
			t.Fatalf("%d tags, limit %d", len(tags), maxTags)
		}
		for k, v := range tags {
			if !tagKey.MatchString(k) || len(v) > maxTagValue {
				t.Fatalf("tag %q = %q", k, v)
			}
		}
		if len(tags) < maxTags {
			if again, _ := ExtractTags(rest); len(again) != 0 {
				t.Fatalf("rest %q of %q still holds tags %v", rest, text, again)
			}
		}
	})
}

// FuzzText runs the HTML converter and the quote stripper on arbitrary input.
func FuzzText(f *testing.F) {
	f.Add("<p>a<br>b</p><blockquote>q<div class=gmail_quote>x</div></blockquote><div id=divRplyFwdMsg>o</div>")
	f.Add("Done.\nOn Mon, X wrote:\n> q")
	f.Add("<script>x</script><style>y")
	f.Fuzz(func(t *testing.T, s string) {
		h := HTMLToText(s)
		n := NewPart(h)
		if utf8.ValidString(s) && (!utf8.ValidString(h) || !utf8.ValidString(n)) {
			t.Fatalf("invalid UTF-8 from valid input %q: %q / %q", s, h, n)
		}
		for _, l := range strings.Split(NewPart(s), "\n") {
			if reQuotedLine.MatchString(l) {
				t.Fatalf("NewPart(%q) kept quoted line %q", s, l)
			}
		}
	})
}
