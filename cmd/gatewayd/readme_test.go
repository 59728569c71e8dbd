package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeNamesEveryVariable: every environment variable the shipped
// config (configs/gateway.yaml, `${NAME}`) and the shipped mappings and
// vendors (`…_env: NAME`) read is in the README's variable table.
func TestReadmeNamesEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	files := shippedFiles(t)
	ref := regexp.MustCompile(`\$\{([A-Z][A-Z0-9_]*)|_env:\s*([A-Z][A-Z0-9_]*)`)
	seen := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if i := strings.Index(line, "#"); i >= 0 {
				line = line[:i] // comments explain the syntax (${NAME}); they read nothing
			}
			for _, m := range ref.FindAllStringSubmatch(line, -1) {
				name := m[1] + m[2]
				seen++
				if !strings.Contains(string(readme), "`"+name+"`") {
					t.Errorf("%s reads %s, which the README's variable table does not list", f, name)
				}
			}
		}
	}
	if seen < 20 {
		t.Fatalf("found %d variable references in the shipped config and mappings, want at least 20", seen)
	}
}

// shippedFiles is the shipped config and partner mappings: the ones git
// tracks, so that a partner folder an operator adds (untracked, and
// documented by its author) does not fail the README's check. Outside a git
// checkout every partner folder counts.
func shippedFiles(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("git", "-C", "../..", "ls-files", "--", "mappings/*/*.yaml", "configs/gateway.yaml").Output()
	if err != nil {
		files, _ := filepath.Glob("../../mappings/*/*.yaml")
		return append(files, "../../configs/gateway.yaml")
	}
	var files []string
	for _, f := range strings.Fields(string(out)) {
		files = append(files, filepath.Join("../..", f))
	}
	return files
}
