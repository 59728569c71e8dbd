package mappings

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// PartnerStatus is the live state of one partner's mapping, shown in /readyz.
type PartnerStatus struct {
	// Version is the content hash of the running mapping ("" when none loaded).
	Version string `json:"version"`
	// LoadedAt is when the running version was swapped in.
	LoadedAt time.Time `json:"loaded_at"`
	// LastError is the last failed reload of this partner ("" after a good
	// one): what was wrong, one problem a line, without the file and
	// position, which go to the log and to `gatewayd mappings validate`
	// (/readyz shows this to any prober).
	LastError string `json:"last_error,omitempty"`
	// ErrorAt is when LastError happened.
	ErrorAt time.Time `json:"error_at,omitzero"`
}

// Registry holds the live mappings. Reload validates the folder and swaps
// each partner's mapping atomically: a partner whose file is broken keeps its
// running version, and the error is returned, logged and shown in Status.
// Get is lock-free.
type Registry struct {
	dir  string
	log  *slog.Logger
	live atomic.Pointer[map[string]*Mapping]

	mu     sync.Mutex // serializes reloads; guards status, stamp and hooks
	status map[string]PartnerStatus
	hooks  []func()
	stamp  string
	now    func() time.Time
}

// NewRegistry loads dir and returns a registry serving it. Partners that fail
// to load are absent (and reported in Status); the error lists them, so the
// caller may choose to stop. A nil log discards log lines.
func NewRegistry(dir string, log *slog.Logger) (*Registry, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Registry{dir: dir, log: log, status: map[string]PartnerStatus{}, now: time.Now}
	empty := map[string]*Mapping{}
	r.live.Store(&empty)
	err := r.Reload()
	return r, err
}

// Get returns the running mapping of partner, or nil.
func (r *Registry) Get(partner string) *Mapping { return (*r.live.Load())[partner] }

// Names returns the partners with a running mapping, sorted.
func (r *Registry) Names() []string { return keys(*r.live.Load()) }

// Dir returns the folder the registry serves.
func (r *Registry) Dir() string { return r.dir }

// Status returns each known partner's running version, load time and last error.
func (r *Registry) Status() map[string]PartnerStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]PartnerStatus, len(r.status))
	for k, v := range r.status {
		out[k] = v
	}
	return out
}

// Warning summarizes the partners whose last reload failed, for the
// "warning" of the mappings readiness check: each with the version that
// keeps serving (or "not served" for a partner that never loaded) and the
// first line of its error. It is "" when every mapping loaded.
func (r *Registry) Warning() string {
	st := r.Status()
	var out []string
	for _, name := range keys(st) {
		s := st[name]
		if s.LastError == "" {
			continue
		}
		first, _, _ := strings.Cut(s.LastError, "\n")
		if n := strings.Count(s.LastError, "\n"); n > 0 {
			first += fmt.Sprintf(" (and %d more)", n)
		}
		running := "not served"
		if s.Version != "" {
			running = s.Version + " keeps serving"
		}
		out = append(out, fmt.Sprintf("%s: edit refused, %s: %s", name, running, first))
	}
	if len(out) == 0 {
		return ""
	}
	return "broken mappings: " + strings.Join(out, "; ")
}

// OnReload calls f after every reload (by Reload, Check, Watch or a
// signal), once the new versions are live, so that what is built from the
// mappings (a partner's routes and auth) follows them. Reloads are
// serialized, and so are the calls; f must not call Reload.
func (r *Registry) OnReload(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hooks = append(r.hooks, f)
}

// Reload validates every partner folder and swaps in each one that loads;
// broken partners keep their running version. It returns the load errors of
// the broken ones (a LoadErrors list), or nil. A partner folder that was
// removed is dropped.
func (r *Registry) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamp, _ := folderStamp(r.dir)
	names, err := partnerDirs(r.dir)
	if err != nil {
		r.log.Error("mappings reload failed", "dir", r.dir, "err", err)
		return err
	}
	cur := *r.live.Load()
	next := make(map[string]*Mapping, len(names))
	var all LoadErrors
	var other []error
	now := r.now()
	for _, name := range names {
		m, err := loadPartner(r.dir, name)
		st := r.status[name]
		if err != nil {
			var le LoadErrors
			if errors.As(err, &le) {
				all = append(all, le...)
			} else {
				other = append(other, err)
			}
			if old := cur[name]; old != nil {
				next[name] = old
			}
			st.LastError, st.ErrorAt = statusError(err), now
			r.status[name] = st
			r.log.Error("mapping rejected; the running version keeps serving", "partner", name, "running", st.Version, "err", err)
			continue
		}
		next[name] = m
		if old := cur[name]; old == nil || old.Version() != m.Version() {
			st.Version, st.LoadedAt = m.Version(), now
			r.log.Info("mapping loaded", "partner", name, "version", m.Version())
		}
		if st.LastError != "" {
			r.log.Info("mapping fixed; the broken edit is gone", "partner", name, "version", m.Version(), "broken_since", st.ErrorAt)
		}
		st.LastError, st.ErrorAt = "", time.Time{}
		r.status[name] = st
	}
	for name := range r.status {
		if !contains(names, name) {
			delete(r.status, name)
			if cur[name] != nil {
				r.log.Warn("mapping removed", "partner", name)
			}
		}
	}
	r.live.Store(&next)
	r.stamp = stamp
	for _, f := range r.hooks {
		f()
	}
	if len(all) > 0 {
		all.sort()
		if len(other) > 0 {
			return errors.Join(append([]error{all}, other...)...)
		}
		return all
	}
	return errors.Join(other...)
}

// Watch polls the folder every interval (no fsnotify: it compares names,
// sizes, modification times and content hashes) and reloads on change,
// until ctx is done. An interval of zero means 2s.
func (r *Registry) Watch(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 2 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Check()
		}
	}
}

// ReloadOn reloads whenever one of sigs arrives (SIGHUP in gatewayd) until
// ctx is done. Errors are logged and kept in Status.
func (r *Registry) ReloadOn(ctx context.Context, sigs ...os.Signal) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	defer signal.Stop(ch)
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-ch:
			r.log.Info("reloading mappings", "signal", s.String())
			_ = r.Reload() // logged and kept in Status
		}
	}
}

// Check reloads when the folder changed since the last reload and reports
// whether it did. Watch calls it on every tick; tests call it directly.
func (r *Registry) Check() bool {
	stamp, err := folderStamp(r.dir)
	if err != nil {
		r.log.Error("mappings watch", "dir", r.dir, "err", err)
		return false
	}
	r.mu.Lock()
	same := stamp == r.stamp
	r.mu.Unlock()
	if same {
		return false
	}
	_ = r.Reload() // logged and kept in Status
	return true
}

// folderStamp hashes the names, sizes, modification times and contents of
// every mapping file (fixtures excluded) under dir.
func folderStamp(dir string) (string, error) {
	names, err := partnerDirs(dir)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	sort.Strings(names)
	for _, n := range names {
		f := mappingFile(dir, n)
		fi, err := os.Stat(f)
		if errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(h, "%s missing\n", n)
			continue
		}
		if err != nil {
			return "", err
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		sum := sha256.Sum256(b)
		fmt.Fprintf(h, "%s %d %d %x\n", filepath.Base(f), fi.Size(), fi.ModTime().UnixNano(), sum)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// statusError renders a failed load for PartnerStatus.LastError from its
// typed parts: each problem's message without its file and position.
func statusError(err error) string {
	var le LoadErrors
	var one *LoadError
	switch {
	case errors.As(err, &le):
		msgs := make([]string, len(le))
		for i, e := range le {
			msgs[i] = e.Msg
		}
		return strings.Join(msgs, "\n")
	case errors.As(err, &one):
		return one.Msg
	}
	return "the mapping folder could not be read"
}
