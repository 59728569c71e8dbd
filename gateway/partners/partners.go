package partners

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/equus/sogateway/gateway"
	"github.com/equus/sogateway/internal/inbound"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/equus/sogateway/gateway/partnerauth"
	"github.com/equus/sogateway/mappings"
)

// DefaultEMGSourceID is the EMG Source GUID of seed 003, used when neither a
// source_id setting nor EMG_SOURCE_ID is set (dev only; readiness says so).
const DefaultEMGSourceID = "3e095d30-40ff-11e9-8959-5be078353003"

// Options tunes Register. A nil *Options is the zero value, which works.
type Options struct {
	// Settings are each partner's installation settings (partner -> name ->
	// value), e.g. pruvan's integration and auto_admin, emg's source_id.
	// Undeclared ones use the mapping's defaults.
	Settings map[string]map[string]string
	// Responders overrides a partner's answer style (partner -> Responder*).
	Responders map[string]string
	// Replay remembers Standard Webhooks ids; default an in-memory guard. Use
	// partnerauth.NewRedisReplay when several replicas run.
	Replay partnerauth.ReplayGuard
	// Now is the clock of signed timestamps and Acks; default time.Now.
	Now func() time.Time
	// Logger receives authentication failures and commit errors; default slog.Default().
	Logger *slog.Logger
	// MaxBodyBytes caps a partner request body; default 1 MiB. The engine's
	// server-wide cap applies too.
	MaxBodyBytes int64
	// MaxDepth caps JSON nesting; default 32.
	MaxDepth int
	// Registerer receives the partner metrics (gateway_partner_auth_failures_total,
	// gateway_partner_items_total); nil means no metrics.
	Registerer prometheus.Registerer
	// Mount installs the partner router for the requests no static route
	// matches (gatewayd: Gateway.AddRouteFallback). Nil means Register sets
	// the engine's NoRoute and NoMethod handlers, answering a problem+json
	// 404 or 405 for requests that are not a partner's.
	Mount func(claims func(*http.Request) bool, h gin.HandlerFunc)
}

// Status is what /readyz shows of one REST partner.
type Status struct {
	Enabled bool `json:"enabled"`
	// Reason says why a partner is disabled (a missing variable or key file).
	Reason    string   `json:"reason,omitempty"`
	Auth      string   `json:"auth,omitempty"`
	Responder string   `json:"responder"`
	Routes    []string `json:"routes"`
	Warnings  []string `json:"warnings,omitempty"`
}

// Set is the REST partners mounted on an engine.
type Set struct {
	reg *mappings.Registry
	in  inbound.Receiver
	env func(string) string
	opt Options
	log *slog.Logger
	// live is the current table of partners, swapped whole by Sync: a
	// request loads it once and is served by one version of its partner.
	live     atomic.Pointer[table]
	mu       sync.Mutex // serializes Sync and Refresh
	authFail *prometheus.CounterVec
	items    *prometheus.CounterVec
}

// partner is one version of a REST partner: its mapping, routes and
// responder, never changed once built (Sync builds a new one when the
// mapping's version changes). Only its credentials (state) are re-read.
type partner struct {
	name      string
	responder string
	resp      responder // nil when the responder name is unknown
	routes    []string
	warnings  []string
	spec      *mappings.Spec
	m         *mappings.Mapping
	table     []route
	state     atomic.Pointer[state]
}

// state is the credential-dependent part of a partner, rebuilt by Refresh.
type state struct {
	enabled  bool
	reason   string
	warnings []string
	auth     partnerauth.Authenticator
	signer   partnerauth.Signer
	sourceID string
	settings map[string]string
}

// Register mounts every REST route declared by the mappings in reg
// under /partners/<partner>/… with the partner's declared auth. Each request
// is bounded and checked, authenticated over the exact bytes received,
// handed to in (translated by the partner's live mapping and committed item
// by item), and answered in the partner's own format. A partner whose credentials are
// missing is disabled: its routes answer 404 and Status says why. A mapping
// reload (reg.OnReload) swaps the partner's routes, auth and rules together:
// a new partner folder's routes answer, a removed one's stop answering.
func Register(r *gin.Engine, reg *mappings.Registry, in inbound.Receiver, env func(string) string, opt *Options) *Set {
	ps := &Set{reg: reg, in: in, env: env}
	if opt != nil {
		ps.opt = *opt
	}
	if ps.opt.Now == nil {
		ps.opt.Now = time.Now
	}
	if ps.opt.Logger == nil {
		ps.opt.Logger = slog.Default()
	}
	if ps.opt.MaxBodyBytes <= 0 {
		ps.opt.MaxBodyBytes = 1 << 20
	}
	if ps.opt.MaxDepth <= 0 {
		ps.opt.MaxDepth = 32
	}
	if ps.opt.Replay == nil {
		ps.opt.Replay = partnerauth.NewMemoryReplay(ps.opt.Now)
	}
	if ps.env == nil {
		ps.env = func(string) string { return "" }
	}
	ps.log = ps.opt.Logger
	ps.authFail = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_partner_auth_failures_total",
		Help: "Partner requests refused by authentication, by partner and reason."}, []string{"partner", "reason"})
	ps.items = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_partner_items_total",
		Help: "Partner messages (batch elements) by partner, kind and outcome: created, updated, duplicate, invalid, refused, not_found, conflict, error."},
		[]string{"partner", "kind", "outcome"})
	if ps.opt.Registerer != nil {
		ps.opt.Registerer.MustRegister(ps.authFail, ps.items)
	}
	ps.live.Store(&table{byName: map[string]*partner{}})
	ps.Sync()
	reg.OnReload(ps.Sync)
	if ps.opt.Mount != nil {
		ps.opt.Mount(ps.Claims, ps.Serve)
	} else {
		r.NoRoute(ps.serveOr(http.StatusNotFound))
		r.NoMethod(ps.serveOr(http.StatusMethodNotAllowed))
	}
	return ps
}

// Status says, for each REST partner, whether it is enabled and why not.
func (ps *Set) Status() map[string]Status {
	t := ps.live.Load()
	out := make(map[string]Status, len(t.byName))
	for name, p := range t.byName {
		st := p.state.Load()
		s := Status{Enabled: st.enabled, Reason: st.reason, Responder: p.responder, Routes: p.routes}
		if p.spec.Auth != nil {
			s.Auth = p.spec.Auth.Kind
		}
		s.Warnings = append(append([]string(nil), p.warnings...), st.warnings...)
		out[name] = s
	}
	return out
}

// Check is a readiness check: always OK (a disabled partner is a
// configuration choice), with each partner's status as detail and a warning
// naming the disabled ones.
func (ps *Set) Check(context.Context) gateway.CheckResult {
	st := ps.Status()
	res := gateway.CheckResult{OK: true, Detail: st}
	var off []string
	for _, n := range ps.live.Load().names {
		if !st[n].Enabled {
			off = append(off, n+": "+st[n].Reason)
		}
	}
	if len(off) > 0 {
		res.Warn = "disabled partners: " + strings.Join(off, "; ")
	}
	return res
}

// Refresh re-reads every partner's credentials (environment and key files),
// so keys can be rotated and a disabled partner enabled without a restart.
func (ps *Set) Refresh() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for _, p := range ps.live.Load().byName {
		p.state.Store(ps.build(p))
	}
}

// settingsOf returns the partner's effective settings: the mapping's
// defaults overlaid with the installation's.
func (ps *Set) settingsOf(p *partner) map[string]string {
	out := map[string]string{}
	for k, s := range p.spec.Settings {
		if s.Default != "" {
			out[k] = s.Default
		}
	}
	for k, v := range ps.opt.Settings[p.name] {
		out[k] = v
	}
	return out
}

func (ps *Set) responderOf(p *partner) string {
	if r := ps.opt.Responders[p.name]; r != "" {
		return r
	}
	if r := ps.settingsOf(p)["responder"]; r != "" {
		return r
	}
	a := p.spec.Auth
	switch {
	case a != nil && a.SignatureField != "" && a.SigningKeyFileEnv != "":
		return ResponderSignedAck
	case p.spec.Split != "":
		return ResponderBatch
	default:
		return ResponderStatus
	}
}

// build reads the partner's credentials and decides whether it is enabled.
func (ps *Set) build(p *partner) *state {
	st := &state{settings: ps.settingsOf(p)}
	// Input.Settings only carries the mapping's declared settings.
	for k := range st.settings {
		if _, ok := p.spec.Settings[k]; !ok {
			delete(st.settings, k)
		}
	}
	disable := func(format string, a ...any) *state {
		st.enabled, st.reason = false, fmt.Sprintf(format, a...)
		return st
	}
	if p.resp == nil {
		return disable("unknown responder %q (want %s, %s or %s)", p.responder, ResponderBatch, ResponderStatus, ResponderSignedAck)
	}
	a := p.spec.Auth
	if a == nil {
		return disable("the mapping declares no auth; REST routes need one")
	}
	cfg := partnerauth.Config{Scheme: a.Kind, Header: a.Header, Query: a.Query, SignatureField: a.SignatureField,
		Encoding: a.Encoding, Prefix: a.Prefix, TimestampHeader: a.TimestampHeader, Signed: a.Signed, Tolerance: a.ToleranceDuration()}
	if a.SecretEnv != "" {
		cfg.SecretEnv = []string{a.SecretEnv, a.SecretEnv + "_PREVIOUS"}
	}
	if a.PublicKeyFileEnv != "" {
		cfg.PublicKeyFileEnv = []string{a.PublicKeyFileEnv, a.PublicKeyFileEnv + "_PREVIOUS"}
	}
	if a.SignatureField != "" {
		// The signed member is the one the mapping unwraps (EMG: Task).
		cfg.SignedField = "Task"
		if len(p.spec.Unwrap) > 0 {
			cfg.SignedField = p.spec.Unwrap[0]
		}
	}
	auth, err := partnerauth.New(cfg, ps.env, &partnerauth.Options{Now: ps.opt.Now, Replay: ps.opt.Replay, Partner: p.name})
	if err != nil {
		return disable("%s", strings.TrimPrefix(err.Error(), "partnerauth: "))
	}
	st.auth = auth
	if reason := p.resp.setup(ps, p, st); reason != "" {
		return disable("%s", reason)
	}
	st.enabled = true
	return st
}
