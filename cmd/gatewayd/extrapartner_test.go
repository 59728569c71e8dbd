package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/equus/sogateway/internal/readers"
	"github.com/equus/sogateway/internal/testutil"
	"github.com/equus/sogateway/mappings"
)

// TestExtraPartnerFolder copies the module, adds the docs' walk-through
// partner folder (mapping, one fixture per kind, want files written by
// `mappings test -update`) and runs `go test ./...` (the unit run) on the
// copy: adding a partner folder never breaks the project's tests. It runs in
// the integration suite, since it builds and tests the whole module again.
func TestExtraPartnerFolder(t *testing.T) {
	testutil.RequireIntegration(t, "go")
	root := testutil.ModuleRoot(t)
	dst := t.TempDir()
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if info.IsDir() {
			if rel != "." && (strings.HasPrefix(info.Name(), ".") && info.Name() != ".ci") {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	acme := filepath.Join(dst, "mappings", "acme")
	if err := os.MkdirAll(filepath.Join(acme, "fixtures"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(acme, "acme.yaml"), []byte(walkthroughMapping(t)), 0o644)
	os.WriteFile(filepath.Join(acme, "fixtures", "job_created.input.json"), []byte(`{"eventId":"e-1","type":"job.created","job":{"id":"J-1","ref":"WO-1","site":"Austin"}}`), 0o644)
	os.WriteFile(filepath.Join(acme, "fixtures", "job_note.input.json"), []byte(`{"eventId":"e-2","type":"job.note","job":{"ref":"WO-1","note":"on site"}}`), 0o644)
	var out strings.Builder
	if code := mappings.CLIMain([]string{"test", "-update", filepath.Join(dst, "mappings")}, "", readers.Production(), nil, &out, &out); code != 0 {
		t.Fatalf("mappings test -update with the acme folder = %d:\n%s", code, out.String())
	}
	// The README lists the shipped partners' variables; documenting an added
	// partner's variables is its author's job, so that check stays with the
	// shipped tree.
	cmd := exec.Command("go", "test", "-count=1", "-skip", "TestExtraPartnerFolder|TestReadmeNamesEveryVariable", "./...")
	cmd.Dir = dst
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GATEWAY_INTEGRATION=") {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = io.MultiWriter(&log), &log
	if err := cmd.Run(); err != nil {
		t.Fatalf("go test ./... with an extra partner folder: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "ok  \tgithub.com/equus/sogateway/mappings") {
		t.Errorf("the mappings package did not run:\n%s", log.String())
	}
}
