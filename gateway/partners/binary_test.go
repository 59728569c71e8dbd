package partners

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// The "binary" backend runs every partner suite against the real gatewayd
// process and a real redis-server: the partner's HTTP request goes to the
// binary over TCP, while the platform side of each test (creating, patching
// and reading orders) goes through intake on the same Redis.

func binaryBackend(t *testing.T) *backend {
	srv := testutil.StartRedis(t)
	b := intakeBackend("binary-redis", intake.New(store.New(srv.Client(), nil), nil))
	b.redisURL = srv.URL()
	return b
}

// binaryOptionsSupported reports whether the options can be expressed in the
// binary's configuration; those that cannot (an injected clock, a replay
// guard, a depth cap other than the default) run in process on the same Redis.
func binaryOptionsSupported(opt *Options) bool {
	return opt == nil || (opt.Now == nil && opt.Replay == nil && opt.MaxDepth == 0 && len(opt.Responders) == 0)
}

// startPartnerBinary starts gatewayd with the partner mappings in mapDir, the
// credentials in env and the settings of opt, and returns its base URL.
func startPartnerBinary(t testing.TB, redisURL, mapDir string, env map[string]string, opt *Options) (string, fmt.Stringer) {
	t.Helper()
	dir := t.TempDir()
	port := testutil.FreePort(t)
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "server:\n  addr: 127.0.0.1:%d\n", port)
	if opt != nil && opt.MaxBodyBytes > 0 {
		fmt.Fprintf(&cfg, "  max_body_bytes: %d\n", opt.MaxBodyBytes)
	}
	fmt.Fprintf(&cfg, "redis:\n  url: %s\nmappings:\n  dir: %s\n  watch: false\nattachments:\n  dir: %s\npartners:\n", redisURL, mapDir, filepath.Join(dir, "att"))
	var names []string
	if opt != nil {
		for p := range opt.Settings {
			names = append(names, p)
		}
	}
	sort.Strings(names)
	for _, p := range names {
		fmt.Fprintf(&cfg, "  %s:\n    settings:\n", p)
		for k, v := range opt.Settings[p] {
			fmt.Fprintf(&cfg, "      %s: %q\n", k, v)
		}
	}
	cfgPath := filepath.Join(dir, "gateway.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	full := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for k, v := range env {
		full = append(full, k+"="+v)
	}
	g := testutil.StartGatewayd(t, dir, fmt.Sprintf("127.0.0.1:%d", port), []string{"serve", "-config", cfgPath}, full)
	return g.URL, g
}

// doHTTP sends one request to the binary.
func (r *rig) doHTTP(method, target, contentType string, body []byte, header map[string]string) (int, string, []byte) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.url+target, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}
