package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/testutil"
)

// recipe is one ```sh block of README.md or docs/*.md.
type recipe struct {
	file string
	line int // of the opening fence
	text string
}

// recipesSkipped are the blocks the test does not run, by their whole text,
// with the reason.
var recipesSkipped = map[string]string{
	"go run ./cmd/gatewayd": "starts the gateway in the foreground; the README's Try it block starts it in the background",
	"go test ./...":         "is the test run itself",
}

// recipeFilesSkipped are documents whose recipes the test does not run.
var recipeFilesSkipped = map[string]string{
	"docs/benchmarks.md": "its recipes are benchmark runs of minutes each (bench/ and go test -bench run them)",
}

// shellRecipes returns the ```sh blocks of README.md and docs/*.md, in order.
func shellRecipes(t *testing.T, root string) []recipe {
	t.Helper()
	files := []string{"README.md"}
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	testutil.Must(t, err)
	for _, d := range docs {
		rel, _ := filepath.Rel(root, d)
		if _, skip := recipeFilesSkipped[rel]; !skip {
			files = append(files, rel)
		}
	}
	var out []recipe
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		testutil.Must(t, err)
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		var cur *recipe
		var lines []string
		indent := ""
		n := 0
		for sc.Scan() {
			n++
			l := sc.Text()
			switch {
			case cur == nil && strings.TrimSpace(l) == "```sh":
				// A block under a list item is indented; the reader pastes it without.
				indent = l[:len(l)-len(strings.TrimLeft(l, " "))]
				cur, lines = &recipe{file: f, line: n}, nil
			case cur != nil && strings.TrimSpace(l) == "```":
				cur.text = strings.Join(lines, "\n")
				if _, skip := recipesSkipped[strings.TrimSpace(cur.text)]; !skip {
					out = append(out, *cur)
				}
				cur = nil
			case cur != nil:
				lines = append(lines, strings.TrimPrefix(l, indent))
			}
		}
	}
	return out
}

var (
	recipeDate  = regexp.MustCompile(`\b20\d\d-[01]\d-[0-3]\d\b`)
	recipePort  = regexp.MustCompile(`(:?)\b(8080|8081|8082|9099)\b`)
	recipeHTTP  = regexp.MustCompile(`(?m)^HTTP (\d{3}) (\S*)$`)
	recipeRedis = "redis://127.0.0.1:6379/0"
)

// TestDocRecipesRunAsPasted runs every shell recipe of README.md and docs/
// in document order, in one scratch folder (mappings/ and configs/ copied
// from the repository), each block in its own `bash -euo pipefail`, against
// the gateways the recipes start themselves. The only rewrites: `go run
// ./cmd/gatewayd` runs the built binary, the port numbers 8080, 8081, 8082 and
// 9099 become free ports, and redis://127.0.0.1:6379/0 a redis-server of the test. A
// block fails on a non-zero exit (an unset variable included), on an HTTP
// 5xx, and on a 4xx whose code its text does not mention (a recipe may show
// a documented refusal such as the README's 401). A date in a recipe must
// not be in the past.
func TestDocRecipesRunAsPasted(t *testing.T) {
	testutil.RequireIntegration(t)
	for _, tool := range []string{"bash", "curl", "python3", "openssl", "date", "sed", "grep", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run the recipes as pasted: %v", tool, err)
		}
	}
	root, err := filepath.Abs("../..")
	testutil.Must(t, err)
	recipes := shellRecipes(t, root)
	if len(recipes) < 10 {
		t.Fatalf("found %d shell recipes, want the README's and docs' (at least 10)", len(recipes))
	}
	today := time.Now().UTC().Format(time.DateOnly)
	for _, r := range recipes {
		for _, d := range recipeDate.FindAllString(r.text, -1) {
			if d < today {
				t.Errorf("%s:%d: the recipe's date %s is in the past", r.file, r.line, d)
			}
		}
	}

	bin := testutil.GatewaydBinary(t)
	dir := t.TempDir()
	// Copies: the walk-through of docs/mappings.md moves a partner folder in.
	for _, d := range []string{"mappings", "configs"} {
		copyDir(t, filepath.Join(root, d), filepath.Join(dir, d))
	}
	testutil.Must(t, os.RemoveAll(filepath.Join(dir, "mappings", "acme"))) // a leftover of the walk-through
	scratch := filepath.Join(dir, ".tmp")
	testutil.Must(t, os.MkdirAll(scratch, 0o755))
	ports := map[string]string{}
	for _, p := range []string{"8080", "8081", "8082", "9099"} {
		ports[p] = strconv.Itoa(testutil.FreePort(t))
	}
	redisURL := testutil.StartRedis(t).URL()
	env := append(os.Environ(), "TMPDIR="+scratch, "GATEWAY_ADDR=127.0.0.1:"+ports["8080"], "REDIS_URL=", "GATEWAY_ADMIN_TOKEN=",
		"ACME_MOVERS_URL=", "ACME_MOVERS_TOKEN=", "ACME_MOVERS_WEBHOOK_SECRET=", "ACME_MOVERS_PULL_KEY=")

	// Every block runs in its own process group; what it leaves running in
	// the background (the stand-in vendor, the gateways) is stopped at the end.
	var groups []int
	t.Cleanup(func() {
		for _, g := range groups {
			_ = syscall.Kill(-g, syscall.SIGTERM)
		}
		time.Sleep(300 * time.Millisecond)
		for _, g := range groups {
			_ = syscall.Kill(-g, syscall.SIGKILL)
		}
	})
	// curl reports each answer's status on stderr, so the test can read it.
	const prelude = "set -euo pipefail\n" +
		"curl() { command curl -w '%{stderr}\\nHTTP %{http_code} %{url_effective}\\n' \"$@\"; }\n"
	// Outputs outlive their subtest: the stand-in vendor keeps writing to the
	// first block's stdout.
	outDir := t.TempDir()
	for i, r := range recipes {
		script := strings.ReplaceAll(r.text, "go run ./cmd/gatewayd", "'"+bin+"'")
		script = strings.ReplaceAll(script, recipeRedis, redisURL)
		script = recipePort.ReplaceAllStringFunc(script, func(m string) string {
			if p, ok := strings.CutPrefix(m, ":"); ok {
				return ":" + ports[p]
			}
			return ports[m] // python's ("127.0.0.1", 9099)
		})
		name := fmt.Sprintf("%s:%d", r.file, r.line)
		ok := t.Run(name, func(t *testing.T) {
			outPath := filepath.Join(outDir, fmt.Sprintf("%02d.out", i))
			errPath := filepath.Join(outDir, fmt.Sprintf("%02d.err", i))
			stdout, err := os.Create(outPath)
			testutil.Must(t, err)
			stderr, err := os.Create(errPath)
			testutil.Must(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "-c", prelude+script)
			cmd.Dir, cmd.Env = dir, env
			// Files, not pipes: a background child keeping them open does not hold Wait.
			cmd.Stdout, cmd.Stderr = stdout, stderr
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			testutil.Must(t, cmd.Start())
			groups = append(groups, cmd.Process.Pid)
			runErr := cmd.Wait()
			_ = stdout.Close()
			_ = stderr.Close()
			out, _ := os.ReadFile(outPath)
			errOut, _ := os.ReadFile(errPath)
			report := fmt.Sprintf("recipe:\n%s\nstdout:\n%s\nstderr:\n%s", script, out, errOut)
			if runErr != nil {
				t.Fatalf("%s: %v\n%s", name, runErr, report)
			}
			inUntil := strings.Contains(r.text, "until curl")
			for _, m := range recipeHTTP.FindAllStringSubmatch(string(errOut), -1) {
				code, url := m[1], m[2]
				switch {
				case code == "000" || inUntil && strings.HasSuffix(url, "/readyz"):
					// A wait loop polling a gateway that is still starting.
				case code >= "500":
					t.Errorf("%s: %s answered %s\n%s", name, url, code, report)
				case code >= "400" && !strings.Contains(r.text, code):
					t.Errorf("%s: %s answered %s, which the recipe does not mention\n%s", name, url, code, report)
				}
			}
		})
		if !ok && i == 0 {
			t.Fatal("the first recipe starts the gateway the others use")
		}
	}
	// The README's sample order really reached acme-movers: its stand-in printed the signed push.
	vendor, _ := os.ReadFile(filepath.Join(outDir, "00.out"))
	if !strings.Contains(string(vendor), "acme-movers received") || !strings.Contains(string(vendor), `"event":"order.submitted"`) ||
		!strings.Contains(string(vendor), `"requestorReference":"N-1001"`) {
		t.Errorf("the README's stand-in vendor did not receive the sample order; it printed:\n%s", vendor)
	}
}
