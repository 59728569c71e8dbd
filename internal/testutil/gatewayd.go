package testutil

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	gatewaydOnce sync.Once
	gatewaydPath string
	gatewaydErr  error
)

// ModuleRoot returns the directory holding go.mod, walking up from the
// test's working directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test's directory")
		}
		dir = parent
	}
}

// GatewaydBinary builds cmd/gatewayd once per test process and returns its path.
func GatewaydBinary(t testing.TB) string {
	t.Helper()
	root := ModuleRoot(t)
	gatewaydOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatewayd-test")
		if err != nil {
			gatewaydErr = err
			return
		}
		gatewaydPath = filepath.Join(dir, "gatewayd")
		cmd := exec.Command("go", "build", "-o", gatewaydPath, "./cmd/gatewayd")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			gatewaydErr = fmt.Errorf("go build ./cmd/gatewayd: %v\n%s", err, out)
		}
	})
	if gatewaydErr != nil {
		t.Fatal(gatewaydErr)
	}
	return gatewaydPath
}

// Gatewayd is a running gatewayd process.
type Gatewayd struct {
	// URL is http://host:port of the process.
	URL string
	Cmd *exec.Cmd
	mu  sync.Mutex
	log bytes.Buffer
}

// Logs returns what the process logged so far.
func (g *Gatewayd) Logs() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.log.String()
}

// String is Logs, so a *Gatewayd can stand where a log is read.
func (g *Gatewayd) String() string { return g.Logs() }

// StartGatewayd runs the binary with args and the complete environment env in
// dir, on addr (host:port, also passed as GATEWAY_ADDR), waits for /healthz,
// and stops it with SIGTERM at cleanup (logging its output if the test failed).
func StartGatewayd(t testing.TB, dir, addr string, args, env []string) *Gatewayd {
	t.Helper()
	cmd := exec.Command(GatewaydBinary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(env, "GATEWAY_ADDR="+addr)
	g := &Gatewayd{URL: "http://" + addr, Cmd: cmd}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			g.mu.Lock()
			g.log.WriteString(sc.Text() + "\n")
			g.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState != nil {
			return
		}
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("gatewayd log:\n%s", g.Logs())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(g.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return g
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gatewayd did not answer /healthz: %v\n%s", err, g.Logs())
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// AdminToken is the bootstrap admin token tests give a gateway
// (GATEWAY_ADMIN_TOKEN, or access.Options.AdminToken in-process).
const AdminToken = "test-admin-token-0123456789abcdef"

// Authorize adds the admin bearer token to req unless it carries an
// Authorization header already, and returns req.
func Authorize(req *http.Request) *http.Request {
	if req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+AdminToken)
	}
	return req
}
