package mappings

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestRegistrySIGHUP: a SIGHUP reloads the folder.
func TestRegistrySIGHUP(t *testing.T) {
	dir := t.TempDir()
	writeReload(t, dir, "alpha", "v1:")
	r, err := NewRegistry(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Catch SIGHUP in this test process first, so that a signal sent before
	// ReloadOn registers cannot kill the test binary.
	guard := make(chan os.Signal, 8)
	signal.Notify(guard, syscall.SIGHUP)
	defer signal.Stop(guard)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	go func() {
		// ReloadOn registers before it blocks; give it its own goroutine.
		close(started)
		r.ReloadOn(ctx, syscall.SIGHUP)
	}()
	<-started
	writeReload(t, dir, "alpha", "v2:")
	deadline := time.Now().Add(20 * time.Second)
	for noteText(t, r, "alpha") != "v2: hello" {
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not reload the edited mapping")
		}
		// Resend until ReloadOn has registered its own channel.
		syscall.Kill(syscall.Getpid(), syscall.SIGHUP)
		time.Sleep(20 * time.Millisecond)
	}
}

const reloadSrc = `partner: %s
protocols: [rest]
inbound:
  - kind: note
    event: order.message
    rules:
      - {to: target.requestor, from: id, required: true}
      - {to: message, template: "%s {{text}}"}
`

func writeReload(t *testing.T, dir, partner, prefix string) {
	t.Helper()
	src := strings.Replace(strings.Replace(reloadSrc, "%s", partner, 1), "%s", prefix, 1)
	if err := os.MkdirAll(filepath.Join(dir, partner), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, partner, partner+".yaml"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func noteText(t *testing.T, r *Registry, partner string) string {
	t.Helper()
	m := r.Get(partner)
	if m == nil {
		t.Fatalf("Get(%q) = nil", partner)
	}
	b, err := m.Translate(Input{Body: []byte(`{"id":"o1","text":"hello"}`)})
	if err != nil || b.Items[0].Err != nil {
		t.Fatalf("Translate = %v / %v", err, b.Items[0].Err)
	}
	return b.Items[0].Inbound.Patch.Messages[0].Text
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// TestRegistryHotReload: a good edit is swapped in, a bad edit is refused
// while the old version keeps serving, other partners are untouched.
func TestRegistryHotReload(t *testing.T) {
	dir := t.TempDir()
	writeReload(t, dir, "alpha", "v1:")
	writeReload(t, dir, "beta", "b1:")
	var logs syncBuf
	r, err := NewRegistry(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatalf("NewRegistry = %v", err)
	}
	if got := noteText(t, r, "alpha"); got != "v1: hello" {
		t.Fatalf("alpha text = %q, want %q", got, "v1: hello")
	}
	v1 := r.Get("alpha").Version()
	betaV := r.Get("beta").Version()
	if r.Check() {
		t.Errorf("Check() with no change = true, want false")
	}

	// Good edit: swapped in.
	writeReload(t, dir, "alpha", "v2:")
	if !r.Check() {
		t.Fatalf("Check() after an edit = false, want true")
	}
	if got := noteText(t, r, "alpha"); got != "v2: hello" {
		t.Errorf("alpha text after good edit = %q, want %q", got, "v2: hello")
	}
	v2 := r.Get("alpha").Version()
	if v2 == v1 {
		t.Errorf("version did not change after an edit: %s", v2)
	}
	if st := r.Status()["alpha"]; st.Version != v2 || st.LastError != "" {
		t.Errorf("Status[alpha] = %+v, want version %s and no error", st, v2)
	}

	// Bad edit: refused, v2 keeps serving, the error names file:line:col.
	bad := filepath.Join(dir, "alpha", "alpha.yaml")
	if err := os.WriteFile(bad, []byte("partner: alpha\ninbound:\n  - kind: note\n    event: order.mesage\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = r.Reload()
	var le LoadErrors
	if !errors.As(err, &le) {
		t.Fatalf("Reload after a bad edit = %v, want LoadErrors", err)
	}
	wantErr := bad + `:4:12: unknown event type "order.mesage" (did you mean "order.message"?)`
	if le[0].Error() != wantErr {
		t.Errorf("Reload error = %q, want %q", le[0].Error(), wantErr)
	}
	if got := noteText(t, r, "alpha"); got != "v2: hello" {
		t.Errorf("alpha text after bad edit = %q, want the running %q", got, "v2: hello")
	}
	st := r.Status()["alpha"]
	if st.Version != v2 || st.LastError != `unknown event type "order.mesage" (did you mean "order.message"?)` {
		t.Errorf("Status[alpha] = %+v, want version %s and the load error", st, v2)
	}
	if !strings.Contains(logs.String(), "mapping rejected") {
		t.Errorf("log lacks the rejection:\n%s", logs.String())
	}
	if r.Get("beta").Version() != betaV || r.Status()["beta"].LastError != "" {
		t.Errorf("beta changed by alpha's bad edit: %+v", r.Status()["beta"])
	}

	// Fixing it clears the error.
	writeReload(t, dir, "alpha", "v3:")
	if err := r.Reload(); err != nil {
		t.Fatalf("Reload after fix = %v", err)
	}
	if got := noteText(t, r, "alpha"); got != "v3: hello" {
		t.Errorf("alpha text after fix = %q", got)
	}
	if st := r.Status()["alpha"]; st.LastError != "" {
		t.Errorf("Status[alpha].LastError = %q after fix, want empty", st.LastError)
	}

	// A partner folder added at run time is picked up.
	writeReload(t, dir, "gamma", "g1:")
	if !r.Check() || r.Get("gamma") == nil {
		t.Fatalf("Check() did not load the new partner gamma")
	}
	if got := noteText(t, r, "gamma"); got != "g1: hello" {
		t.Errorf("gamma text = %q", got)
	}

	// A removed partner is dropped.
	if err := os.RemoveAll(filepath.Join(dir, "beta")); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err != nil {
		t.Fatalf("Reload = %v", err)
	}
	if r.Get("beta") != nil {
		t.Errorf("Get(beta) after removal = non-nil")
	}
	if _, ok := r.Status()["beta"]; ok {
		t.Errorf("Status still lists removed beta")
	}
}

// TestRegistryWatch: the polling watcher picks up an edit on its own.
func TestRegistryWatch(t *testing.T) {
	dir := t.TempDir()
	writeReload(t, dir, "alpha", "v1:")
	r, err := NewRegistry(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Watch(ctx, 5*time.Millisecond); close(done) }()
	writeReload(t, dir, "alpha", "v2:")
	deadline := time.Now().Add(20 * time.Second)
	for noteText(t, r, "alpha") != "v2: hello" {
		if time.Now().After(deadline) {
			t.Fatal("watch did not reload the edited mapping")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}

// TestRegistryBrokenAtStart: a partner broken at start is absent and reported; others serve.
func TestRegistryBrokenAtStart(t *testing.T) {
	dir := t.TempDir()
	writeReload(t, dir, "alpha", "v1:")
	if err := os.MkdirAll(filepath.Join(dir, "gamma"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gamma", "gamma.yaml"), []byte("partner: gamma\nbogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := NewRegistry(dir, nil)
	if err == nil {
		t.Fatal("NewRegistry with a broken partner = nil error")
	}
	if r.Get("alpha") == nil || r.Get("gamma") != nil {
		t.Errorf("Get(alpha), Get(gamma) = %v, %v; want alpha served, gamma absent", r.Get("alpha"), r.Get("gamma"))
	}
	if st := r.Status()["gamma"]; st.LastError != `unknown key "bogus" in spec` {
		t.Errorf("Status[gamma].LastError = %q", st.LastError)
	}
}

// TestRegistryWarningAndFixedLog: a broken edit shows in Warning (with the
// version that keeps serving); fixing it clears the warning and logs it.
func TestRegistryWarningAndFixedLog(t *testing.T) {
	dir := t.TempDir()
	writeReload(t, dir, "alpha", "v1:")
	var logs syncBuffer
	r, err := NewRegistry(dir, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if w := r.Warning(); w != "" {
		t.Fatalf("Warning() with every mapping loaded = %q, want \"\"", w)
	}
	running := r.Get("alpha").Version()
	file := filepath.Join(dir, "alpha", "alpha.yaml")
	src, _ := os.ReadFile(file)
	os.WriteFile(file, append(src, "not_a_key: 1\n"...), 0o644)
	writeReload(t, dir, "beta", "b:")
	os.WriteFile(filepath.Join(dir, "beta", "beta.yaml"), []byte("partner: beta\nprotocols: [rest\n"), 0o644)
	if err := r.Reload(); err == nil {
		t.Fatal("Reload with broken edits = nil")
	}
	w := r.Warning()
	for _, want := range []string{"broken mappings: alpha: edit refused, " + running + " keeps serving: unknown key",
		`unknown key "not_a_key"`, "beta: edit refused, not served: "} {
		if !strings.Contains(w, want) {
			t.Errorf("Warning() = %q, lacks %q", w, want)
		}
	}
	if strings.Contains(w, "alpha.yaml") {
		t.Errorf("Warning() = %q names the file; its positions go to the log", w)
	}
	os.WriteFile(file, src, 0o644)
	os.RemoveAll(filepath.Join(dir, "beta"))
	if err := r.Reload(); err != nil {
		t.Fatalf("Reload after the fix = %v", err)
	}
	if w := r.Warning(); w != "" {
		t.Errorf("Warning() after the fix = %q, want \"\"", w)
	}
	if !strings.Contains(logs.String(), "mapping fixed; the broken edit is gone") || !strings.Contains(logs.String(), "partner=alpha") {
		t.Errorf("no log line says alpha was fixed:\n%s", logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for a logger and a reader.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
