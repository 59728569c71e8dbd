package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestBinaryMappingEditChangesTheWSDL edits the ssp7 mapping of a running
// gateway: a good edit (a new SOAP parameter) is swapped in on SIGHUP and the
// served WSDL follows it; a broken edit is refused, the running version keeps
// serving and /readyz shows the error.
func TestBinaryMappingEditChangesTheWSDL(t *testing.T) {
	dir := t.TempDir()
	copyDir(t, "../../mappings", dir)
	g := startGateway(t, "GATEWAY_MAPPINGS_DIR="+dir, "SSP7_SOAP_USER=u", "SSP7_SOAP_PASSWORD=p")
	wsdl := g.URL + "/Workflow/WebService/WorkflowService.asmx?wsdl"
	if w := get(t, wsdl); !strings.Contains(w, `name="taskId"`) || strings.Contains(w, "priorityCode") {
		t.Fatalf("initial WSDL lacks taskId or already has priorityCode:\n%.400s", w)
	}
	file := filepath.Join(dir, "ssp7", "ssp7.yaml")
	orig, _ := os.ReadFile(file)
	edited := strings.Replace(string(orig), "        - {name: message, type: string, required: true, max_length: 4000}\n",
		"        - {name: message, type: string, required: true, max_length: 4000}\n        - {name: priorityCode, type: int}\n", 1)
	if edited == string(orig) {
		t.Fatal("the test's edit did not apply to ssp7.yaml")
	}
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = g.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(get(t, wsdl), "priorityCode") {
		if time.Now().After(deadline) {
			t.Fatalf("the WSDL did not follow the edited mapping\n%s", g.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// A broken edit: refused, the running version stays.
	if err := os.WriteFile(file, []byte(edited+"\nnot_a_key: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = g.cmd.Process.Signal(syscall.SIGHUP)
	deadline = time.Now().Add(15 * time.Second)
	for !strings.Contains(get(t, g.URL+"/readyz"), "not_a_key") {
		if time.Now().After(deadline) {
			t.Fatalf("readyz does not show the broken edit\n%s", get(t, g.URL+"/readyz"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if w := get(t, wsdl); !strings.Contains(w, "priorityCode") {
		t.Fatalf("after a broken edit the WSDL changed; want the running version kept")
	}
	var ready struct {
		Checks map[string]struct {
			OK   bool   `json:"ok"`
			Warn string `json:"warning"`
		} `json:"checks"`
	}
	if err := json.Unmarshal([]byte(get(t, g.URL+"/readyz")), &ready); err != nil {
		t.Fatal(err)
	}
	if c := ready.Checks["mappings"]; !c.OK || !strings.Contains(c.Warn, "ssp7: edit refused") || !strings.Contains(c.Warn, `unknown key "not_a_key"`) {
		t.Errorf("readyz mappings check under a broken edit = %+v, want ok with a warning naming ssp7 and the error", c)
	}
	// The fix: the warning goes and the log says so.
	if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	_ = g.cmd.Process.Signal(syscall.SIGHUP)
	deadline = time.Now().Add(15 * time.Second)
	for strings.Contains(get(t, g.URL+"/readyz"), "not_a_key") || !strings.Contains(g.Logs(), "mapping fixed") {
		if time.Now().After(deadline) {
			t.Fatalf("readyz still warns after the fix, or no log line says it was fixed\n%s", get(t, g.URL+"/readyz"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
