package testutil

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
)

// stdPrefixes are the prefixes of errors from the standard library and the
// modules the gateway uses that a client must never read ("json: cannot
// unmarshal ...", "yaml: line 3: ...", "redis: nil").
var stdPrefixes = []string{"json", "yaml", "xml", "redis", "strconv", "x509", "base64", "mime", "multipart", "http", "template", "gin", "gjson", "sjson", "runtime error"}

var (
	leakOnce sync.Once
	leakRE   *regexp.Regexp
)

// leakPattern matches what an answer must not carry: an error prefix of one
// of the module's packages at the start of a text (a JSON string, an XML or
// HTML element's text, a line: where an err.Error() lands; mid-sentence,
// "partners: " or "mail: " is plain English) (every directory holding Go files, e.g.
// "dispatch: ", "store: ", "adapters: ") or of the libraries above, a rule
// file position ("ssp7.yaml:106"), or a Go formatting slip ("%!v(").
// Partner names are not package names, even where a partner's mapping
// folder holds Go tests.
func leakPattern() *regexp.Regexp {
	leakOnce.Do(func() {
		names := map[string]bool{}
		for _, n := range stdPrefixes {
			names[n] = true
		}
		if root, err := moduleRoot(); err == nil {
			_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
				if err != nil {
					return nil
				}
				if d.IsDir() {
					if n := d.Name(); p != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "vendor") {
						return filepath.SkipDir
					}
					return nil
				}
				// A partner's mapping folder (mappings/emg) is named after
				// the partner, whose name an answer may well carry.
				if dir := filepath.Dir(p); strings.HasSuffix(p, ".go") && filepath.Dir(dir) != filepath.Join(root, "mappings") {
					names[filepath.Base(dir)] = true
				}
				return nil
			})
		}
		delete(names, filepath.Base(mustRoot()))
		list := make([]string, 0, len(names))
		for n := range names {
			list = append(list, regexp.QuoteMeta(n))
		}
		sort.Strings(list)
		leakRE = regexp.MustCompile(`(?:^|["'>(\[\n])(?:` + strings.Join(list, "|") + `): ` +
			`|[A-Za-z0-9_-]+\.ya?ml:\d+` + `|%![a-zA-Z]\(` + `|2006-01-02|Z07:00|1504 -0700`)
	})
	return leakRE
}

func mustRoot() string {
	r, _ := moduleRoot()
	return r
}

// moduleRoot is ModuleRoot without a test.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("go.mod not found")
		}
		dir = parent
	}
}

// AnswerLeak returns the first part of body that a partner or client must
// never read, or "" when there is none: a Go package prefix of this module
// or of a library it uses ("dispatch: vendor ...", "json: cannot ..."), a
// rule file position ("emg.yaml:200"), a Go time layout ("2006-01-02"),
// or a Go formatting slip ("%!v(").
// Those belong in the log and in `gatewayd mappings translate --explain`;
// answers are rendered from typed errors.
func AnswerLeak(body []byte) string { return leakIn("", body) }

// explainPaths are the pages whose answer is the mapping's explain trace
// (the console's playground, `gatewayd mappings translate --explain` for a
// browser): there the rule's file and line are the point, for the mapping
// author holding a console key. Package prefixes are refused there too.
var explainPaths = []string{"/console/mappings/playground"}

// leakIn is AnswerLeak for the answer to path.
func leakIn(path string, body []byte) string {
	explain := false
	for _, p := range explainPaths {
		explain = explain || strings.HasSuffix(strings.TrimRight(path, "/"), p)
	}
	for _, loc := range leakPattern().FindAllIndex(body, -1) {
		m := body[loc[0]:loc[1]]
		if explain && (bytes.Contains(m, []byte(".yaml:")) || bytes.Contains(m, []byte(".yml:"))) {
			continue
		}
		from, to := max(loc[0]-60, 0), min(loc[1]+60, len(body))
		return string(body[from:to])
	}
	return ""
}

// CheckAnswer fails t when body, the answer to what ("METHOD /path?query"),
// carries an AnswerLeak.
func CheckAnswer(t testing.TB, what string, body []byte) {
	t.Helper()
	path := what
	if _, after, ok := strings.Cut(what, " "); ok {
		path, _, _ = strings.Cut(after, "?")
	}
	if leak := leakIn(path, body); leak != "" {
		t.Errorf("the answer to %s leaks internals: ...%s...", what, leak)
	}
}

// Serve runs req through h, checks the answer with CheckAnswer and returns
// the recorder. Handler tests use it instead of httptest.NewRecorder and
// ServeHTTP, so that every answer they see is checked.
func Serve(t testing.TB, h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if answerType(w.Header().Get("Content-Type")) {
		CheckAnswer(t, req.Method+" "+req.URL.RequestURI(), w.Body.Bytes())
	}
	return w
}

var (
	leaksMu sync.Mutex
	leaks   []string
)

// answerTransport checks every answer body read through it, as it is read,
// and records the leaks for CheckAnswers.
type answerTransport struct{ base http.RoundTripper }

func (a answerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := a.base.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	if !answerType(resp.Header.Get("Content-Type")) {
		return resp, nil
	}
	resp.Body = &checkedBody{rc: resp.Body, what: req.Method + " " + req.URL.RequestURI(), path: req.URL.Path}
	return resp, nil
}

// answerType reports whether a body of content type ct is an answer someone
// reads (JSON, XML, HTML, text, or untyped) rather than a static asset
// (style sheets, scripts, images, fonts).
func answerType(ct string) bool {
	ct = strings.ToLower(ct)
	for _, asset := range []string{"text/css", "javascript", "image/", "font/", "application/zip", "application/octet-stream"} {
		if strings.Contains(ct, asset) {
			return false
		}
	}
	return true
}

// checkedBody passes an answer through, keeping its first 4 MiB, and checks
// them once the body is read to its end or closed.
type checkedBody struct {
	rc   io.ReadCloser
	what string
	path string
	buf  bytes.Buffer
	done bool
}

const checkedMax = 4 << 20

func (b *checkedBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if room := checkedMax - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(n, room)])
	}
	if err == io.EOF {
		b.check()
	}
	return n, err
}

func (b *checkedBody) Close() error {
	b.check()
	return b.rc.Close()
}

func (b *checkedBody) check() {
	if b.done {
		return
	}
	b.done = true
	if leak := leakIn(b.path, b.buf.Bytes()); leak != "" {
		leaksMu.Lock()
		leaks = append(leaks, fmt.Sprintf("the answer to %s leaks internals: ...%s...", b.what, leak))
		leaksMu.Unlock()
	}
}

// CheckAnswers runs m with every answer read through http.DefaultTransport
// (http.Get, http.Post, http.DefaultClient and any client without its own
// Transport) checked by AnswerLeak, and fails the run when one leaked. A
// package whose tests talk to the gateway over HTTP calls it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testutil.CheckAnswers(m)) }
func CheckAnswers(m *testing.M) int {
	http.DefaultTransport = answerTransport{base: http.DefaultTransport}
	code := m.Run()
	leaksMu.Lock()
	defer leaksMu.Unlock()
	if len(leaks) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: %d answers leaked internals (testutil.AnswerLeak):\n", len(leaks))
		for _, l := range leaks {
			fmt.Fprintln(os.Stderr, "  "+l)
		}
		if code == 0 {
			code = 1
		}
	}
	return code
}
