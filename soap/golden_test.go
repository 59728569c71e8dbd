package soap

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite golden responses (testdata/golden/*.resp)")

// goldenRequest reads a .req file: "METHOD target", header lines, a blank line, the body.
func goldenRequest(t *testing.T, path string) (method, target string, hdr [][2]string, body []byte) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, body, _ := bytes.Cut(raw, []byte("\n\n"))
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Scan()
	method, target, _ = strings.Cut(sc.Text(), " ")
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		hdr = append(hdr, [2]string{k, v})
	}
	return method, target, hdr, body
}

// TestGolden runs every request in testdata/golden through a handler with a
// fixed clock and a recording backend, and compares status, content type and
// body with the .resp file next to it.
func TestGolden(t *testing.T) {
	reqs, err := filepath.Glob("testdata/golden/*.req")
	if err != nil || len(reqs) == 0 {
		t.Fatalf("no golden requests: %v", err)
	}
	sort.Strings(reqs)
	for _, path := range reqs {
		name := strings.TrimSuffix(filepath.Base(path), ".req")
		t.Run(name, func(t *testing.T) {
			h := newTestHandler(t, &recorder{}, func(o *Options) {
				o.MaxBodyBytes = 2048
				o.Now = func() time.Time { return testNow }
				o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			})
			method, target, hdr, body := goldenRequest(t, path)
			r := httptest.NewRequest(method, target, bytes.NewReader(body))
			r.Host = "gateway.example"
			for _, kv := range hdr {
				r.Header.Add(kv[0], kv[1])
			}
			w := testutil.Serve(t, h, r)
			var got bytes.Buffer
			fmt.Fprintf(&got, "%d\nContent-Type: %s\n", w.Code, w.Header().Get("Content-Type"))
			if a := w.Header().Get("WWW-Authenticate"); a != "" {
				fmt.Fprintf(&got, "WWW-Authenticate: %s\n", a)
			}
			got.WriteString("\n")
			got.Write(w.Body.Bytes())
			respPath := strings.TrimSuffix(path, ".req") + ".resp"
			if *update {
				if err := os.WriteFile(respPath, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(respPath)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("%s %s answered\n%s\nwant (%s)\n%s", method, target, got.Bytes(), respPath, want)
			}
		})
	}
}
