package mappings_test

import (
	"encoding/json"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/equus/sogateway/internal/readers"
	"github.com/equus/sogateway/mappings"
)

var update = flag.Bool("update", false, "rewrite the golden want files that are missing or differ (go test ./mappings/ -run TestGolden -update)")

// TestGolden walks every fixture beside every mapping with the checks of
// `gatewayd mappings test` (CheckFixture, then Coverage) and the same
// production readers (readers.Production: SOAP envelopes through the soap
// package, mail through the mail package's parser): the rules a mapping
// must meet are the same in both. -update writes the want files instead of
// failing on them.
func TestGolden(t *testing.T) {
	set, err := mappings.Load(".")
	if err != nil {
		t.Fatalf("Load(.) = %v", err)
	}
	fx, err := mappings.Fixtures(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(fx) == 0 {
		t.Fatal("no fixtures found")
	}
	results := make([]mappings.FixtureResult, 0, len(fx))
	for _, f := range fx {
		r := mappings.CheckFixture(set.Get(f.Partner), readers.Production(), f, *update)
		results = append(results, r)
		t.Run(f.Partner+"/"+f.Name, func(t *testing.T) {
			switch {
			case r.Diff != "":
				t.Errorf("%s: result differs (- want, + got):\n%s", f.Input, r.Diff)
			case errors.Is(r.Err, mappings.ErrNoWantFile):
				t.Errorf("%v (or: go test ./mappings/ -run TestGolden -update)", r.Err)
			case r.Err != nil:
				t.Errorf("CheckFixture = %v", r.Err)
			}
		})
	}
	t.Run("coverage", func(t *testing.T) {
		for _, g := range mappings.Coverage(set, results) {
			t.Error(g)
		}
	})
}

// TestCLIMainTranslateSOAP: `gatewayd mappings translate` reads a SOAP
// envelope with the SOAP service's reader.
func TestCLIMainTranslateSOAP(t *testing.T) {
	data, err := os.ReadFile("ssp7/fixtures/soap-update-message.input.xml")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	code := mappings.CLIMain([]string{"translate", "--partner", "ssp7", "--dir", "."}, ".", readers.Production(), strings.NewReader(string(data)), &out, &errb)
	if code != 0 || !strings.Contains(out.String(), `"kind": "update_message"`) {
		t.Errorf("CLIMain translate SOAP = %d\n%s%s", code, out.String(), errb.String())
	}
}

// TestCLIHelp: --help prints the usage on stdout and exits 0; it is never
// taken for a folder.
func TestCLIHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"test", "--help"}, {"validate", "-h"}, {"translate", "--help"}} {
		var out, errb strings.Builder
		code := mappings.CLIMain(args, ".", readers.Production(), nil, &out, &errb)
		if code != 0 || !strings.Contains(out.String(), "usage:") || strings.Contains(errb.String(), "no such file") {
			t.Errorf("CLIMain(%q) = %d, stdout %q, stderr %q; want 0 and the usage", args, code, out.String(), errb.String())
		}
	}
	// -update writes want files: run it on a copy of the shipped mappings, never on the
	// package's own folder, so the test run leaves the fixtures as committed.
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(".")); err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	if code := mappings.CLIMain([]string{"test", "-update"}, dir, readers.Production(), nil, &out, &errb); code != 0 || strings.Contains(errb.String(), "-update") {
		t.Errorf("mappings test -update (default folder) = %d, stderr %s; want 0 with the flag taken as a flag", code, errb.String())
	}
}

// TestOutlookReplyFixture: the Outlook reply of the mail package's tests
// (multipart/mixed around multipart/alternative, windows-1252 quoted-printable
// text, a quoted original below a "____" line, the original attached as
// message/rfc822) is an ssp7 fixture as it stands, and the production reader
// finds the new text, the TaskId tag and the correlation, keeps the image
// and the attached original, and the mapping targets the task.
func TestOutlookReplyFixture(t *testing.T) {
	orig, err := os.ReadFile("../mail/testdata/outlook-reply.eml")
	if err != nil {
		t.Fatal(err)
	}
	fx, err := os.ReadFile("ssp7/fixtures/mail-outlook-reply.input.eml")
	if err != nil {
		t.Fatal(err)
	}
	if string(fx) != string(orig) {
		t.Error("ssp7/fixtures/mail-outlook-reply.input.eml differs from mail/testdata/outlook-reply.eml")
	}
	set, err := mappings.Load(".")
	if err != nil {
		t.Fatal(err)
	}
	m := set.Get("ssp7")
	in, err := readers.Production().Mail(m, fx)
	if err != nil {
		t.Fatalf("Mail(outlook reply) = %v", err)
	}
	var doc struct {
		Text        string            `json:"text"`
		Tags        map[string]string `json:"tags"`
		Correlation string            `json:"correlation"`
		Attachments []struct {
			ContentType string `json:"content_type"`
		} `json:"attachments"`
	}
	if err := json.Unmarshal(in.Body, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Text != "Part ordered, arrives Friday – we will call you." || doc.Tags["TaskId"] != "REQ-102" ||
		doc.Correlation != "REQ-102" || len(doc.Attachments) != 2 || doc.Attachments[0].ContentType != "image/png" ||
		doc.Attachments[1].ContentType != "message/rfc822" {
		t.Errorf("Mail(outlook reply) document = %+v, want the new text, tag TaskId REQ-102, correlation REQ-102, the image and the attached original", doc)
	}
	b, err := m.Translate(in)
	if err != nil {
		t.Fatal(err)
	}
	if it := b.Items[0]; it.Err != nil || it.Inbound.Target.Requestor != "REQ-102" || len(it.Inbound.Patch.Messages) != 1 ||
		it.Inbound.Patch.Messages[0].Text != doc.Text {
		t.Errorf("Translate(outlook reply) = %+v, want the message on task REQ-102", it)
	}
}
