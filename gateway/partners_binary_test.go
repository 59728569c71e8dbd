package gateway

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/intake"
	"github.com/equus/sogateway/internal/store"
	"github.com/equus/sogateway/internal/testutil"
)

// The "binary" backend runs every partner suite against the real gatewayd
// process and a real redis-server: the partner's HTTP request goes to the
// binary over TCP, while the platform side of each test (creating, patching
// and reading orders) goes through intake on the same Redis.

var (
	gwBuildOnce sync.Once
	gwBin       string
	gwBuildErr  error
)

func gatewaydBin(t testing.TB) string {
	t.Helper()
	gwBuildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatewayd-partners")
		if err != nil {
			gwBuildErr = err
			return
		}
		gwBin = filepath.Join(dir, "gatewayd")
		if out, err := exec.Command("go", "build", "-o", gwBin, "../cmd/gatewayd").CombinedOutput(); err != nil {
			gwBuildErr = fmt.Errorf("go build gatewayd: %v\n%s", err, out)
		}
	})
	if gwBuildErr != nil {
		t.Fatal(gwBuildErr)
	}
	return gwBin
}

func binaryBackend(t *testing.T) *backend {
	srv := testutil.StartRedis(t)
	b := intakeBackend("binary-redis", intake.New(store.New(srv.Client(), nil), nil))
	b.redisURL = srv.URL()
	return b
}

// binaryOptionsSupported reports whether the options can be expressed in the
// binary's configuration; those that cannot (an injected clock, a replay
// guard, a depth cap other than the default) run in process on the same Redis.
func binaryOptionsSupported(opt *PartnerOptions) bool {
	return opt == nil || (opt.Now == nil && opt.Replay == nil && opt.MaxDepth == 0 && len(opt.Responders) == 0)
}

// startPartnerBinary starts gatewayd with the partner mappings in mapDir, the
// credentials in env and the settings of opt, and returns its base URL.
func startPartnerBinary(t testing.TB, redisURL, mapDir string, env map[string]string, opt *PartnerOptions) (string, fmt.Stringer) {
	t.Helper()
	bin := gatewaydBin(t)
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
	cmd := exec.Command(bin, "serve", "-config", cfgPath)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &lockedWriter{}
	cmd.Stdout, cmd.Stderr = io.Discard, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return base, logs
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatewayd did not start: %v\n%s", err, logs.String())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// lockedWriter collects the process's log; String may be called while it writes.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
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
