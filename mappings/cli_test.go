package mappings

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCLIValidateListsEveryError(t *testing.T) {
	dir := writeMapping(t, "p", "partner: p\nprotocol: [rest]\ninbound:\n  - kind: k\n    event: order.craeted\n")
	var out, errb strings.Builder
	if code := CLIValidate(dir, &out, &errb); code != 1 {
		t.Fatalf("CLIValidate = %d, want 1", code)
	}
	file := filepath.Join(dir, "p", "p.yaml")
	for _, want := range []string{
		file + `:2:1: unknown key "protocol" in spec (did you mean "protocols"?)`,
		"2 error(s)",
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("CLIValidate stderr lacks %q:\n%s", want, errb.String())
		}
	}
}

func TestCLITestReportsDiff(t *testing.T) {
	dir := writeMapping(t, "p", reloadSrc2)
	fx := filepath.Join(dir, "p", "fixtures")
	if err := os.MkdirAll(fx, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(fx, "a.input.json"), []byte(`{"id":"o1","text":"hi"}`), 0o644)
	// Run once to get the real result, then break one value in the want file.
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := RunFixture(set.Get("p"), Readers{}, Fixture{Partner: "p", Name: "a", Input: filepath.Join(fx, "a.input.json")})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(fx, "a.want.json"), got, 0o644)
	var out, errb strings.Builder
	if code := CLITest(dir, Readers{}, false, &out, &errb); code != 0 {
		t.Fatalf("CLITest with a matching fixture = %d:\n%s%s", code, out.String(), errb.String())
	}
	os.WriteFile(filepath.Join(fx, "a.want.json"), []byte(strings.Replace(string(got), `"note: hi"`, `"note: bye"`, 1)), 0o644)
	out.Reset()
	if code := CLITest(dir, Readers{}, false, &out, &errb); code != 1 {
		t.Fatalf("CLITest with a differing fixture = %d, want 1", code)
	}
	for _, want := range []string{"FAIL p/a (- want, + got)", "1 fixture(s), 1 failed, 0 kind(s)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("CLITest output lacks %q:\n%s", want, out.String())
		}
	}
	var minus, plus bool
	for _, l := range strings.Split(out.String(), "\n") {
		minus = minus || strings.HasPrefix(l, "- ") && strings.Contains(l, `"text": "note: bye"`)
		plus = plus || strings.HasPrefix(l, "+ ") && strings.Contains(l, `"text": "note: hi"`)
	}
	if !minus || !plus {
		t.Errorf("CLITest diff lacks the -want/+got lines:\n%s", out.String())
	}
}

const reloadSrc2 = `partner: p
protocols: [rest]
inbound:
  - kind: note
    event: order.message
    rules:
      - {to: target.requestor, from: id, required: true}
      - {to: message, template: "note: {{text}}"}
`

func TestCLITranslateExplain(t *testing.T) {
	in := strings.NewReader(`{"params":{"id":"so-1"},"body":{"event":"repair_started","repairStartedAt":1700000000000}}`)
	var out, errb strings.Builder
	if code := CLITranslate(".", "extend", Readers{}, true, "", in, &out, &errb); code != 0 {
		t.Fatalf("CLITranslate = %d: %s", code, errb.String())
	}
	var v batchView
	if err := json.Unmarshal([]byte(out.String()), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out.String())
	}
	it := v.Items[0]
	if it.Inbound == nil || it.Inbound.Kind != "repair_started" || it.Inbound.MappingVersion == "" {
		t.Fatalf("CLITranslate result = %s", out.String())
	}
	found := false
	for _, tr := range it.Explain {
		if tr.Field == "data.repair_started_at" && tr.From == "repairStartedAt" && strings.HasPrefix(tr.Rule, "extend.yaml:") && tr.Value == "2023-11-14T22:13:20Z" {
			found = true
		}
	}
	if !found {
		t.Errorf("explain lacks the rule for data.repair_started_at: %+v", it.Explain)
	}
}

func TestCLITranslateRender(t *testing.T) {
	in := strings.NewReader(`{"order":{"id":"o1","partner":"equus","status":"new","version":1,"created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"},"extra":{"vendor":"Acme","remaining_seconds":3600}}`)
	var out, errb strings.Builder
	if code := CLITranslate(".", "equus", Readers{}, false, "maintenance_notice", in, &out, &errb); code != 0 {
		t.Fatalf("CLITranslate --out = %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "maintenance is complete in 1 hour.") {
		t.Errorf("render output = %s", out.String())
	}
	if code := CLITranslate(".", "nobody", Readers{}, false, "", strings.NewReader("{}"), &out, &errb); code != 2 {
		t.Errorf("CLITranslate unknown partner = %d, want 2", code)
	}
}

// TestCLITestWantFilesAndCoverage: a fixture without a want file fails with
// the command that writes it; -update writes it; a kind without a fixture
// fails `mappings test` (the same rule TestGolden applies).
func TestCLITestWantFilesAndCoverage(t *testing.T) {
	dir := writeMapping(t, "p", strings.Replace(reloadSrc2, "    event: order.message\n", "    match: {path: id}\n    event: order.message\n", 1)+`  - kind: other
    event: order.message
    rules:
      - {to: target.requestor, from: ref, required: true}
`)
	fx := filepath.Join(dir, "p", "fixtures")
	if err := os.MkdirAll(fx, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(fx, "a.input.json"), []byte(`{"id":"o1","text":"hi"}`), 0o644)
	var out, errb strings.Builder
	if code := CLIMain([]string{"test", dir}, ".", Readers{}, nil, &out, &errb); code != 1 {
		t.Fatalf("mappings test without a want file = %d, want 1:\n%s", code, out.String())
	}
	want := "FAIL p/a: no want file " + filepath.Join(fx, "a.want.json") + ": run `gatewayd mappings test -update " + dir + "` to write it"
	if !strings.Contains(out.String(), want) {
		t.Errorf("mappings test output lacks %q:\n%s", want, out.String())
	}
	out.Reset()
	if code := CLIMain([]string{"test", "-update", dir}, ".", Readers{}, nil, &out, &errb); code != 1 {
		t.Fatalf("mappings test -update with an uncovered kind = %d, want 1:\n%s", code, out.String())
	}
	for _, want := range []string{"wrote " + filepath.Join(fx, "a.want.json"), "FAIL coverage: p: kind other has no fixture", "1 fixture(s), 0 failed, 1 kind(s)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("mappings test -update output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(fx, "a.want.json")); err != nil {
		t.Fatalf("-update did not write the want file: %v", err)
	}
	os.WriteFile(filepath.Join(fx, "b.input.json"), []byte(`{"ref":"r1"}`), 0o644)
	out.Reset()
	if code := CLIMain([]string{"test", "-update", dir}, ".", Readers{}, nil, &out, &errb); code != 0 {
		t.Fatalf("mappings test -update with every kind covered = %d, want 0:\n%s", code, out.String())
	}
	out.Reset()
	if code := CLIMain([]string{"test", dir}, ".", Readers{}, nil, &out, &errb); code != 0 || !strings.Contains(out.String(), "ok   p/a") {
		t.Fatalf("mappings test after -update = %d, want 0:\n%s", code, out.String())
	}
}

// TestCLITranslateExitsOneOnAFailedItem: a script can tell that an item failed.
func TestCLITranslateExitsOneOnAFailedItem(t *testing.T) {
	in := strings.NewReader(`{"params":{"id":"so-1"},"body":{"event":"repair_started","repairStartedAt":"soon"}}`)
	var out, errb strings.Builder
	if code := CLITranslate(".", "extend", Readers{}, false, "", in, &out, &errb); code != 1 {
		t.Fatalf("CLITranslate with a failing item = %d, want 1:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), `"error"`) {
		t.Errorf("CLITranslate did not print the failed item:\n%s", out.String())
	}
}

// TestCLITranslateExplainNamesListItems: --explain names a value inside an
// each list by its place (tasks.0.name), not by the bare element key.
func TestCLITranslateExplainNamesListItems(t *testing.T) {
	data, err := os.ReadFile("pruvan/fixtures/create-seed-example.input.json")
	if err != nil {
		t.Fatal(err)
	}
	var out, errb strings.Builder
	if code := CLITranslate(".", "pruvan", Readers{}, true, "", strings.NewReader(string(data)), &out, &errb); code != 0 {
		t.Fatalf("CLITranslate = %d: %s", code, errb.String())
	}
	var v batchView
	if err := json.Unmarshal([]byte(out.String()), &v); err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, tr := range v.Items[0].Explain {
		fields = append(fields, tr.Field)
	}
	got := strings.Join(fields, " ")
	if !strings.Contains(got, " tasks.0.name ") || strings.Contains(" "+got+" ", " name ") {
		t.Errorf("explain fields = %s, want tasks.0.name and no bare name", got)
	}
}
