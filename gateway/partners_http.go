package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/equus/sogateway/gateway/partnerauth"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

// The answer styles of partner routes. A partner's style is chosen by
// PartnerOptions.Responders, else by its mapping's "responder" setting, else
// inferred from the mapping (a signature field and a signing key: signed-ack;
// a split batch: batch; otherwise status).
const (
	// ResponderBatch answers {"response":{"created":N,"updated":N,"deleted":N},"error":null|[…]}
	// (Pruvan), using the mapping's "response" render when it declares one.
	ResponderBatch = "batch"
	// ResponderStatus answers with the HTTP status of the outcome: 200/201 and a
	// small JSON document, or an RFC 9457 problem naming the field (Extend).
	ResponderStatus = "status"
	// ResponderSignedAck answers with a signed Ack envelope {"Task":{…,"Verb":"Ack"},"Signature":…} (EMG).
	ResponderSignedAck = "signed-ack"
)

// DefaultEMGSourceID is the EMG Source GUID of seed 003, used when neither a
// source_id setting nor EMG_SOURCE_ID is set (dev only; readiness says so).
const DefaultEMGSourceID = "3e095d30-40ff-11e9-8959-5be078353003"

// PartnerOptions tunes RegisterPartners. A nil *PartnerOptions is the zero
// value, which works.
type PartnerOptions struct {
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
}

// PartnerStatus is what /readyz shows of one REST partner.
type PartnerStatus struct {
	Enabled bool `json:"enabled"`
	// Reason says why a partner is disabled (a missing variable or key file).
	Reason    string   `json:"reason,omitempty"`
	Auth      string   `json:"auth,omitempty"`
	Responder string   `json:"responder"`
	Routes    []string `json:"routes"`
	Warnings  []string `json:"warnings,omitempty"`
}

// PartnerSet is the REST partners mounted on an engine.
type PartnerSet struct {
	reg      *mappings.Registry
	sink     model.Sink
	env      func(string) string
	opt      PartnerOptions
	log      *slog.Logger
	partners map[string]*restPartner
	names    []string
	authFail *prometheus.CounterVec
	items    *prometheus.CounterVec
}

type restPartner struct {
	name      string
	responder string
	routes    []string
	warnings  []string
	spec      *mappings.Spec
	state     atomic.Pointer[partnerState]
}

// partnerState is the credential-dependent part of a partner, rebuilt by Refresh.
type partnerState struct {
	enabled  bool
	reason   string
	warnings []string
	auth     partnerauth.Authenticator
	signer   partnerauth.Signer
	sourceID string
	settings map[string]string
}

// RegisterPartners mounts every REST route declared by the mappings in reg
// under /partners/<partner>/… with the partner's declared auth. Each request
// is bounded and checked, authenticated over the exact bytes received,
// translated by the partner's live mapping, committed item by item to sink,
// and answered in the partner's own format. A partner whose credentials are
// missing is disabled: its routes answer 404 and Status says why. Routes are
// read once; a mapping reload changes rules, not routes.
func RegisterPartners(r *gin.Engine, reg *mappings.Registry, sink model.Sink, env func(string) string, opt *PartnerOptions) *PartnerSet {
	ps := &PartnerSet{reg: reg, sink: sink, env: env, partners: map[string]*restPartner{}}
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
	names := reg.Names()
	sort.Strings(names)
	for _, name := range names {
		m := reg.Get(name)
		if m == nil || len(m.Spec().Routes) == 0 {
			continue
		}
		p := &restPartner{name: name, spec: m.Spec()}
		p.responder = ps.responderOf(p)
		p.state.Store(ps.build(p))
		for _, rt := range p.spec.Routes {
			method := strings.ToUpper(rt.Method)
			if method == "" {
				method = http.MethodPost
			}
			if method == http.MethodGet || method == http.MethodHead {
				// Pull routes (GET) are served by their own handlers.
				continue
			}
			path := "/partners/" + name + rt.Path
			if err := mount(r, method, path, ps.handler(p, rt)); err != nil {
				p.warnings = append(p.warnings, err.Error())
				continue
			}
			p.routes = append(p.routes, method+" "+path)
		}
		ps.partners[name] = p
		ps.names = append(ps.names, name)
	}
	return ps
}

// mount adds a route, turning gin's panic on a conflicting route into an error.
func mount(r *gin.Engine, method, path string, h gin.HandlerFunc) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("route %s %s not mounted: %v", method, path, x)
		}
	}()
	r.Handle(method, path, h)
	return nil
}

// Status says, for each REST partner, whether it is enabled and why not.
func (ps *PartnerSet) Status() map[string]PartnerStatus {
	out := make(map[string]PartnerStatus, len(ps.partners))
	for name, p := range ps.partners {
		st := p.state.Load()
		s := PartnerStatus{Enabled: st.enabled, Reason: st.reason, Responder: p.responder, Routes: p.routes}
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
func (ps *PartnerSet) Check(context.Context) CheckResult {
	st := ps.Status()
	res := CheckResult{OK: true, Detail: st}
	var off []string
	for _, n := range ps.names {
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
func (ps *PartnerSet) Refresh() {
	for _, p := range ps.partners {
		p.state.Store(ps.build(p))
	}
}

// settingsOf returns the partner's effective settings: the mapping's
// defaults overlaid with the installation's.
func (ps *PartnerSet) settingsOf(p *restPartner) map[string]string {
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

func (ps *PartnerSet) responderOf(p *restPartner) string {
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
func (ps *PartnerSet) build(p *restPartner) *partnerState {
	st := &partnerState{settings: ps.settingsOf(p)}
	// Input.Settings only carries the mapping's declared settings.
	for k := range st.settings {
		if _, ok := p.spec.Settings[k]; !ok {
			delete(st.settings, k)
		}
	}
	disable := func(format string, a ...any) *partnerState {
		st.enabled, st.reason = false, fmt.Sprintf(format, a...)
		return st
	}
	switch p.responder {
	case ResponderBatch, ResponderStatus, ResponderSignedAck:
	default:
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
	if p.responder == ResponderSignedAck {
		if a.SigningKeyFileEnv == "" {
			return disable("answers are signed but the mapping names no auth.signing_key_file_env")
		}
		scheme := a.Kind
		switch scheme {
		case partnerauth.SchemeRSAPKCS1v15, partnerauth.SchemeRSAPSS, partnerauth.SchemeEd25519:
		default:
			scheme = partnerauth.SchemeRSAPKCS1v15
		}
		signer, err := partnerauth.SignerFromEnv(scheme, ps.env, a.SigningKeyFileEnv)
		if err != nil {
			return disable("%s", strings.TrimPrefix(err.Error(), "partnerauth: "))
		}
		st.signer = signer
		st.sourceID = st.settings["source_id"]
		if st.sourceID == "" {
			envName := strings.ToUpper(p.name) + "_SOURCE_ID"
			if st.sourceID = ps.env(envName); st.sourceID == "" {
				st.sourceID = DefaultEMGSourceID
				st.warnings = append(st.warnings, envName+" is not set: using the seed's development Source "+DefaultEMGSourceID)
			}
		}
	}
	st.enabled = true
	return st
}

// partnerError is a request-level failure answered in the partner's format.
type partnerError struct {
	status int
	field  string
	reason string
}

func (e *partnerError) Error() string { return e.reason }

func perr(status int, field, format string, a ...any) *partnerError {
	return &partnerError{status: status, field: field, reason: fmt.Sprintf(format, a...)}
}

// itemResult is the fate of one translated item.
type itemResult struct {
	item mappings.Item
	out  *model.Outcome
	err  error
}

// call is one partner request in flight.
type call struct {
	c        *gin.Context
	ps       *PartnerSet
	p        *restPartner
	st       *partnerState
	raw      []byte // the exact bytes received
	doc      []byte // the JSON document handed to the mapping
	verified *partnerauth.Verified
	m        *mappings.Mapping
}

func (ps *PartnerSet) handler(p *restPartner, rt mappings.Route) gin.HandlerFunc {
	routeName := rt.Name
	if routeName == "" {
		routeName = rt.Path
	}
	return func(c *gin.Context) {
		st := p.state.Load()
		if !st.enabled {
			WriteProblem(c, Problem{Status: http.StatusNotFound, Detail: "no route " + c.Request.Method + " " + c.Request.URL.Path})
			return
		}
		k := &call{c: c, ps: ps, p: p, st: st}
		ctx := c.Request.Context()
		raw, doc, pe := ps.readBody(c, rt, p)
		if pe != nil {
			k.fail(pe)
			return
		}
		k.raw, k.doc = raw, doc
		v, err := st.auth.Authenticate(ctx, &partnerauth.Request{Header: c.Request.Header, Query: c.Request.URL.Query(), Body: raw})
		if err != nil {
			if errors.Is(err, partnerauth.ErrUnauthorized) {
				ps.log.WarnContext(ctx, "partner authentication failed", "partner", p.name, "route", routeName, "reason", err.Error())
				ps.authFail.WithLabelValues(p.name, authReason(err)).Inc()
				k.fail(perr(http.StatusUnauthorized, "", "authentication failed: %s", authReason(err)))
				return
			}
			_ = c.Error(err)
			k.fail(perr(http.StatusServiceUnavailable, "", "authentication could not be checked; retry later"))
			return
		}
		k.verified = v
		if p.responder == ResponderSignedAck {
			if pe := k.checkEnvelope(); pe != nil {
				k.fail(pe)
				return
			}
		}
		k.m = ps.reg.Get(p.name)
		if k.m == nil {
			_ = v.Release(ctx)
			k.fail(perr(http.StatusServiceUnavailable, "", "the %s mapping is not loaded", p.name))
			return
		}
		params := make(map[string]string, len(c.Params))
		for _, prm := range c.Params {
			params[prm.Key] = prm.Value
		}
		headers := mappingHeaders(c.Request.Header, p.spec.Auth)
		batch, err := k.m.Translate(mappings.Input{Protocol: model.ProtocolREST, Route: routeName, Headers: headers,
			Params: params, Body: doc, Settings: st.settings})
		if err != nil {
			k.fail(perr(http.StatusBadRequest, "", "%s", strings.TrimPrefix(err.Error(), "mappings: ")))
			return
		}
		scope := paramScope(c.Params)
		results := make([]itemResult, len(batch.Items))
		retry := false
		for i, it := range batch.Items {
			results[i].item = it
			if it.Err != nil {
				results[i].err = it.Err
				continue
			}
			if it.Inbound.MessageID == "" && scope != "" {
				// The key is a digest of the body, but the message as received
				// includes its URL: the same event posted to two orders is two messages.
				it.Inbound.IdempotencyKey += scope
			}
			out, err := ps.sink.Commit(ctx, it.Inbound)
			results[i].out, results[i].err = out, err
			if err != nil && !business(err) {
				retry = true
				_ = c.Error(err)
				ps.log.ErrorContext(ctx, "partner message not committed", "partner", p.name, "route", routeName, "index", i, "error", err.Error())
			}
		}
		for _, r := range results {
			ps.items.WithLabelValues(p.name, r.item.Kind, outcomeLabel(r)).Inc()
		}
		if retry {
			// The sender must be able to retry what was not committed.
			_ = v.Release(ctx)
		}
		k.answer(results)
	}
}

// mappingHeaders returns the first value of each request header for the
// mapping, without credentials: a mapping rule cannot copy them into an order.
func mappingHeaders(h http.Header, a *mappings.Auth) map[string]string {
	out := make(map[string]string, len(h))
	for name, vs := range h {
		switch http.CanonicalHeaderKey(name) {
		case "Authorization", "Proxy-Authorization", "Cookie":
			continue
		}
		if a != nil && a.Header != "" && http.CanonicalHeaderKey(name) == http.CanonicalHeaderKey(a.Header) {
			continue
		}
		if len(vs) > 0 {
			out[name] = vs[0]
		}
	}
	return out
}

// paramScope returns "@" and a digest of the route parameters, or "" when
// the route has none.
func paramScope(ps gin.Params) string {
	if len(ps) == 0 {
		return ""
	}
	h := sha256.New()
	for _, p := range ps {
		h.Write([]byte(p.Key))
		h.Write([]byte{0})
		h.Write([]byte(p.Value))
		h.Write([]byte{0})
	}
	return "@" + hex.EncodeToString(h.Sum(nil)[:12])
}

// outcomeLabel names an item's fate for the items metric.
func outcomeLabel(r itemResult) string {
	switch {
	case r.err == nil && r.out.Duplicate:
		return "duplicate"
	case r.err == nil && r.out.Created:
		return "created"
	case r.err == nil:
		return "updated"
	case errors.Is(r.err, model.ErrNotFound):
		return "not_found"
	case errors.Is(r.err, model.ErrConflict):
		return "conflict"
	case errors.Is(r.err, model.ErrRefused):
		return "refused"
	case errors.Is(r.err, model.ErrInvalid):
		return "invalid"
	default:
		return "error"
	}
}

// authReason is the part of an authentication error a partner may read.
func authReason(err error) string {
	for _, s := range []error{partnerauth.ErrMissingCredential, partnerauth.ErrBadCredential, partnerauth.ErrMalformed,
		partnerauth.ErrTimestamp, partnerauth.ErrReplay} {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return "rejected"
}

// business reports whether err is the message's fault (answered 4xx) rather
// than the gateway's (answered 503, safe to retry).
func business(err error) bool {
	return errors.Is(err, model.ErrNotFound) || errors.Is(err, model.ErrConflict) ||
		errors.Is(err, model.ErrRefused) || errors.Is(err, model.ErrInvalid)
}

// statusOf maps an item error to an HTTP status; invalid is the status of
// bad input (422 for Extend and Pruvan, 400 for EMG).
func statusOf(err error, invalid int) int {
	switch {
	case errors.Is(err, model.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, model.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, model.ErrRefused):
		return http.StatusUnprocessableEntity
	case errors.Is(err, model.ErrInvalid):
		return invalid
	default:
		return http.StatusServiceUnavailable
	}
}

// fieldOf returns the field an item error names (the partner's input path
// when the mapping knows it) and the rule it broke.
func fieldOf(err error) (field, rule string) {
	var re *mappings.RuleError
	var me *model.RuleError
	var ve *model.ValidationError
	switch {
	case errors.As(err, &re):
		field = re.Path
		if field == "" {
			field = re.Field
		}
		if re.Rule == "" {
			return field, re.Msg // no rule is at fault (no kind matched)
		}
		return field, re.Msg + " (rule " + re.Rule + ")"
	case errors.As(err, &me):
		return me.Field, me.Rule
	case errors.As(err, &ve):
		return ve.Field, ve.Rule
	}
	if business(err) {
		return "", err.Error()
	}
	return "", "the gateway could not store the message; retry later"
}

// --- reading the body -------------------------------------------------------

var simpleName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// readBody checks the content type, reads at most MaxBodyBytes, checks the
// JSON (one value, no trailing data, no duplicate members, bounded depth) and
// returns the exact bytes received and the JSON document for the mapping
// (the form field's value for form posts).
func (ps *PartnerSet) readBody(c *gin.Context, rt mappings.Route, p *restPartner) (raw, doc []byte, pe *partnerError) {
	ct, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	isJSON := err == nil && (ct == "application/json" || strings.HasSuffix(ct, "+json"))
	isForm := err == nil && rt.FormField != "" && (ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data")
	if !isJSON && !isForm {
		want := "application/json"
		if rt.FormField != "" {
			want += ", application/x-www-form-urlencoded or multipart/form-data (field " + rt.FormField + ")"
		}
		got := c.GetHeader("Content-Type")
		if got == "" {
			got = "none"
		}
		return nil, nil, perr(http.StatusUnsupportedMediaType, "Content-Type", "content type %s is not accepted; send %s", got, want)
	}
	max := ps.opt.MaxBodyBytes
	raw, err = io.ReadAll(io.LimitReader(c.Request.Body, max+1))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || int64(len(raw)) > max {
		if mbe != nil && mbe.Limit < max {
			max = mbe.Limit
		}
		return nil, nil, perr(http.StatusRequestEntityTooLarge, "", "request body exceeds the limit of %d bytes", max)
	}
	if err != nil {
		return nil, nil, perr(http.StatusBadRequest, "", "request body could not be read")
	}
	doc = raw
	if isForm {
		v, pe := formField(raw, ct, params, rt.FormField)
		if pe != nil {
			return nil, nil, pe
		}
		doc = v
	}
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, nil, perr(http.StatusBadRequest, "", "request body is empty; send a JSON document")
	}
	if err := CheckJSON(doc, ps.opt.MaxDepth); err != nil {
		return nil, nil, perr(http.StatusBadRequest, "", "%s", err.Error())
	}
	if isForm {
		// The field may hold the batch array itself: {"<split>": <array>}.
		if s := p.spec.Split; gjson.ParseBytes(doc).IsArray() && simpleName.MatchString(s) {
			doc = append(append([]byte(`{"`+s+`":`), doc...), '}')
		}
	}
	return raw, doc, nil
}

// formField returns the value of field in a form body.
func formField(raw []byte, ct string, params map[string]string, field string) ([]byte, *partnerError) {
	if ct == "application/x-www-form-urlencoded" {
		vals, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, perr(http.StatusBadRequest, field, "form body is malformed")
		}
		vs, ok := vals[field]
		if !ok {
			return nil, perr(http.StatusBadRequest, field, "form field %s is required", field)
		}
		if len(vs) != 1 {
			return nil, perr(http.StatusBadRequest, field, "form field %s is sent %d times, want once", field, len(vs))
		}
		return []byte(vs[0]), nil
	}
	mr := multipart.NewReader(bytes.NewReader(raw), params["boundary"])
	var found []byte
	for parts := 0; ; parts++ {
		if parts >= 16 {
			return nil, perr(http.StatusBadRequest, "", "multipart body has more than 16 parts")
		}
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, perr(http.StatusBadRequest, "", "multipart body is malformed")
		}
		if part.FormName() == field {
			if found != nil {
				return nil, perr(http.StatusBadRequest, field, "form field %s is sent more than once", field)
			}
			b, err := io.ReadAll(part)
			if err != nil {
				return nil, perr(http.StatusBadRequest, field, "multipart body is malformed")
			}
			found = b
		}
	}
	if found == nil {
		return nil, perr(http.StatusBadRequest, field, "form field %s is required", field)
	}
	return found, nil
}

// CheckJSON reports whether b is exactly one JSON value (surrounding
// whitespace allowed) with no duplicate object members and nesting at most
// maxDepth deep. Its errors name the problem and, for syntax errors, the byte
// offset. Duplicate members are refused because two readers may pick
// different ones (a signature check and a mapping, for instance).
func CheckJSON(b []byte, maxDepth int) error {
	if !gjson.ValidBytes(b) {
		var x json.RawMessage
		err := json.Unmarshal(b, &x)
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("malformed JSON at byte %d: %s", se.Offset, se.Error())
		}
		return errors.New("malformed JSON")
	}
	return walkJSON(gjson.ParseBytes(b), 0, maxDepth, "")
}

func walkJSON(r gjson.Result, depth, max int, path string) error {
	if !r.IsObject() && !r.IsArray() {
		return nil
	}
	if depth >= max {
		return fmt.Errorf("JSON nested deeper than %d levels at %s", max, pathOr(path))
	}
	var err error
	if r.IsArray() {
		i := 0
		r.ForEach(func(_, v gjson.Result) bool {
			err = walkJSON(v, depth+1, max, path+"["+strconv.Itoa(i)+"]")
			i++
			return err == nil
		})
		return err
	}
	var seen []string
	var seenMap map[string]struct{}
	r.ForEach(func(k, v gjson.Result) bool {
		name := k.String()
		dup := false
		if seenMap != nil {
			_, dup = seenMap[name]
			seenMap[name] = struct{}{}
		} else {
			for _, s := range seen {
				if s == name {
					dup = true
				}
			}
			seen = append(seen, name)
			if len(seen) > 16 {
				seenMap = make(map[string]struct{}, 32)
				for _, s := range seen {
					seenMap[s] = struct{}{}
				}
			}
		}
		if dup {
			err = fmt.Errorf("duplicate member %q in %s", name, pathOr(path))
			return false
		}
		p := name
		if path != "" {
			p = path + "." + name
		}
		err = walkJSON(v, depth+1, max, p)
		return err == nil
	})
	return err
}

func pathOr(p string) string {
	if p == "" {
		return "the top level"
	}
	return p
}

// --- answers ------------------------------------------------------------------

func (k *call) fail(pe *partnerError) {
	switch k.p.responder {
	case ResponderBatch:
		k.batchAnswer(pe.status, 0, 0, 0, []batchError{{Reason: pe.reason}}, nil)
	case ResponderSignedAck:
		k.ack(pe.status, pe.reason, nil)
	default:
		p := Problem{Status: pe.status, Detail: pe.reason}
		if pe.field != "" {
			p.Errors = []FieldProblem{{Field: pe.field, Rule: pe.reason}}
		}
		WriteProblem(k.c, p)
	}
}

func (k *call) answer(results []itemResult) {
	switch k.p.responder {
	case ResponderBatch:
		k.batch(results)
	case ResponderSignedAck:
		k.signedAck(results)
	default:
		k.status(results)
	}
}

// batchError is one entry of a batch answer's error list.
type batchError struct {
	WorkOrderNumber *string `json:"workOrderNumber"`
	Reason          string  `json:"reason"`
}

// batchKept reports shared fields whose platform value was kept (Auto-Admin off).
type batchKept struct {
	WorkOrderNumber string   `json:"workOrderNumber"`
	Fields          []string `json:"fields"`
	Reason          string   `json:"reason"`
}

func (k *call) batch(results []itemResult) {
	var created, updated, deleted int
	var errs []batchError
	var kept []batchKept
	status := http.StatusOK
	for _, r := range results {
		key := r.item.Key
		if r.err != nil {
			field, rule := fieldOf(r.err)
			if !business(r.err) {
				status = http.StatusServiceUnavailable
			}
			if field != "" {
				rule = field + ": " + rule
			}
			var wo *string
			if key != "" {
				wo = &key
			}
			errs = append(errs, batchError{WorkOrderNumber: wo, Reason: rule})
			continue
		}
		switch {
		case r.out.Created:
			created++
		case r.out.Order != nil && r.out.Order.Status == model.StatusDeleted:
			deleted++
		default:
			updated++
		}
		if len(r.out.Applied.Kept) > 0 {
			kept = append(kept, batchKept{WorkOrderNumber: key, Fields: r.out.Applied.Kept,
				Reason: "kept the values changed on our side since you last set them: Auto-Admin is off for this integration"})
		}
	}
	k.batchAnswer(status, created, updated, deleted, errs, kept)
}

func (k *call) batchAnswer(status, created, updated, deleted int, errs []batchError, kept []batchKept) {
	var body []byte
	var errV any
	if len(errs) > 0 {
		errV = errs
	}
	m := k.m
	if m == nil {
		m = k.ps.reg.Get(k.p.name)
	}
	if m != nil && contains(m.Renders(), "response") {
		extra := map[string]any{"created": created, "updated": updated, "deleted": deleted}
		if errV != nil {
			// Render rules read plain JSON values.
			b, _ := json.Marshal(errV)
			var plain any
			_ = json.Unmarshal(b, &plain)
			extra["error"] = plain
		}
		if r, err := m.Render("response", nil, nil, extra); err == nil {
			body = r.Body
		} else {
			k.ps.log.Error("partner response render failed; answering the built-in shape", "partner", k.p.name, "error", err.Error())
		}
	}
	if body == nil {
		body, _ = json.Marshal(map[string]any{
			"response": map[string]int{"created": created, "updated": updated, "deleted": deleted},
			"error":    errV,
		})
	}
	if len(kept) > 0 {
		if b, err := sjson.SetBytes(body, "kept", kept); err == nil {
			body = b
		}
	}
	k.c.Data(status, "application/json; charset=utf-8", body)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// status answers a single message with the outcome's HTTP status.
func (k *call) status(results []itemResult) {
	if len(results) != 1 {
		WriteProblem(k.c, Problem{Status: http.StatusBadRequest, Detail: fmt.Sprintf("expected one message, got %d", len(results))})
		return
	}
	r := results[0]
	if r.err != nil {
		field, rule := fieldOf(r.err)
		st := statusOf(r.err, http.StatusUnprocessableEntity)
		p := Problem{Status: st, Detail: rule}
		if field != "" {
			p.Detail = field + ": " + rule
			p.Errors = []FieldProblem{{Field: field, Rule: rule}}
		}
		if st == http.StatusServiceUnavailable {
			p.Title = "Temporarily unavailable"
			k.c.Header("Retry-After", "5")
		}
		WriteProblem(k.c, p)
		return
	}
	code := http.StatusOK
	if r.out.Created && !r.out.Duplicate {
		code = http.StatusCreated
	}
	body := gin.H{"order_id": r.out.Order.ID, "kind": r.item.Kind, "duplicate": r.out.Duplicate}
	if r.out.Event != nil {
		body["event_id"] = r.out.Event.ID
		if len(r.out.Event.Warnings) > 0 {
			body["warnings"] = r.out.Event.Warnings
		}
	}
	if len(r.out.Applied.Kept) > 0 {
		body["kept"] = r.out.Applied.Kept
	}
	k.c.JSON(code, body)
}

// --- EMG: signed Ack envelopes -----------------------------------------------

// emgTaskHeader lists the Task members of the EMG envelope (seed 003).
var emgTaskHeader = map[string]bool{"Id": true, "Source": true, "Verb": true, "Resource": true, "ContentType": true,
	"CreationTimeUTC": true, "CreateTimeUTC": true, "Version": true, "Body": true, "OriginationId": true, "OriginationVerb": true}

// task returns the Task of the envelope, unwrapped when sent as a JSON string.
func (k *call) task() gjson.Result {
	t := gjson.GetBytes(k.doc, "Task")
	if t.Type == gjson.String {
		return gjson.Parse(t.Str)
	}
	return t
}

// checkEnvelope enforces the strict EMG envelope and the partner's Source.
func (k *call) checkEnvelope() *partnerError {
	root := gjson.ParseBytes(k.doc)
	if !root.IsObject() {
		return perr(http.StatusBadRequest, "", "the message must be a JSON object {\"Task\":…,\"Signature\":…}")
	}
	var pe *partnerError
	root.ForEach(func(key, _ gjson.Result) bool {
		if n := key.String(); n != "Task" && n != "Signature" {
			pe = perr(http.StatusBadRequest, n, "unknown member %q: the envelope has Task and Signature only", n)
		}
		return pe == nil
	})
	if pe != nil {
		return pe
	}
	t := k.task()
	if !t.IsObject() {
		return perr(http.StatusBadRequest, "Task", "Task must be an object or a JSON string holding one")
	}
	if t.Type == gjson.JSON && gjson.GetBytes(k.doc, "Task").Type == gjson.String {
		if err := CheckJSON([]byte(t.Raw), k.ps.opt.MaxDepth); err != nil {
			return perr(http.StatusBadRequest, "Task", "Task: %s", err.Error())
		}
	}
	t.ForEach(func(key, _ gjson.Result) bool {
		if n := key.String(); !emgTaskHeader[n] {
			pe = perr(http.StatusBadRequest, "Task."+n, "unknown Task member %q", n)
		}
		return pe == nil
	})
	if pe != nil {
		return pe
	}
	if id := t.Get("Id"); id.Type != gjson.String || strings.TrimSpace(id.Str) == "" {
		return perr(http.StatusBadRequest, "Task.Id", "Task.Id is required (a GUID string)")
	}
	if src := t.Get("Source").String(); src != k.st.sourceID {
		return perr(http.StatusForbidden, "Task.Source", "Task.Source %q is not the Source configured for this partner", src)
	}
	return nil
}

func (k *call) signedAck(results []itemResult) {
	if len(results) != 1 {
		k.ack(http.StatusBadRequest, fmt.Sprintf("expected one Task, got %d", len(results)), nil)
		return
	}
	r := results[0]
	if r.err != nil {
		field, rule := fieldOf(r.err)
		reason := rule
		if field != "" {
			reason = field + ": " + rule
		}
		k.ack(statusOf(r.err, http.StatusBadRequest), reason, nil)
		return
	}
	code := http.StatusAccepted
	if r.out.Created {
		code = http.StatusCreated
	}
	k.ack(code, "", r.out)
}

// emgAck is the Task of an Ack, members in the seed's order.
type emgAck struct {
	ID              string     `json:"Id"`
	Source          string     `json:"Source"`
	Verb            string     `json:"Verb"`
	Resource        string     `json:"Resource,omitempty"`
	ContentType     string     `json:"ContentType"`
	CreateTimeUTC   string     `json:"CreateTimeUTC"`
	Version         string     `json:"Version"`
	OriginationID   string     `json:"OriginationId"`
	OriginationVerb string     `json:"OriginationVerb,omitempty"`
	Body            emgAckBody `json:"Body"`
}

type emgAckBody struct {
	RequestorID string   `json:"RequestorId"`
	ServicerID  string   `json:"ServicerId"`
	StatusCode  int      `json:"StatusCode"`
	Reason      string   `json:"Reason,omitempty"`
	Warnings    []string `json:"Warnings,omitempty"`
}

// ack answers with a signed Ack. The Ack id is derived from the Task id and
// its time from the committed event, so a repeated Task gets the same Ack.
func (k *call) ack(code int, reason string, out *model.Outcome) {
	t := k.task()
	taskID := t.Get("Id").String()
	version := t.Get("Version").String()
	if version == "" {
		version = "1.0"
	}
	at := k.ps.opt.Now()
	a := emgAck{
		ID:              uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:sogateway:"+k.p.name+":ack:"+taskID)).String(),
		Source:          k.st.sourceID,
		Verb:            "Ack",
		Resource:        t.Get("Resource").String(),
		ContentType:     "application/json",
		Version:         version,
		OriginationID:   taskID,
		OriginationVerb: t.Get("Verb").String(),
		Body: emgAckBody{
			RequestorID: t.Get("Body.RequestorId").String(),
			ServicerID:  t.Get("Body.ServicerId").String(),
			StatusCode:  code,
			Reason:      reason,
		},
	}
	if out != nil {
		if out.Order != nil {
			if out.Order.Refs.Requestor != "" {
				a.Body.RequestorID = out.Order.Refs.Requestor
			}
			if out.Order.Refs.Servicer != "" {
				a.Body.ServicerID = out.Order.Refs.Servicer
			}
		}
		if out.Event != nil {
			at = out.Event.At
			a.Body.Warnings = out.Event.Warnings
		}
	}
	a.CreateTimeUTC = at.UTC().Format("2006-01-02T15:04:05.000Z")
	taskJSON := k.renderAck(&a, out)
	if taskJSON == nil {
		var err error
		if taskJSON, err = json.Marshal(a); err != nil {
			WriteError(k.c, fmt.Errorf("gateway: ack: %w", err))
			return
		}
	}
	body := make([]byte, 0, len(taskJSON)+400)
	body = append(body, `{"Task":`...)
	body = append(body, taskJSON...)
	if k.st.signer != nil {
		sig, err := k.st.signer.Sign(taskJSON)
		if err != nil {
			_ = k.c.Error(err)
			WriteProblem(k.c, Problem{Status: http.StatusInternalServerError, Detail: "the Ack could not be signed"})
			return
		}
		body = append(body, `,"Signature":"`...)
		body = append(body, base64.StdEncoding.EncodeToString(sig)...)
		body = append(body, '"')
	}
	body = append(body, '}')
	k.c.Data(code, "application/json; charset=utf-8", body)
}

// renderAck renders the Ack's Task with the mapping's "ack" render, when it
// declares one and the message was committed (the render reads the order);
// nil means the built-in shape is used.
func (k *call) renderAck(a *emgAck, out *model.Outcome) []byte {
	if out == nil || out.Order == nil || k.m == nil || !contains(k.m.Renders(), "ack") {
		return nil
	}
	extra := map[string]any{"message_id": a.ID, "source": a.Source, "resource": a.Resource, "now": a.CreateTimeUTC,
		"origination_id": a.OriginationID, "origination_verb": a.OriginationVerb, "status_code": a.Body.StatusCode}
	r, err := k.m.Render("ack", out.Order, out.Event, extra)
	if err != nil {
		k.ps.log.Error("partner ack render failed; answering the built-in shape", "partner", k.p.name, "error", err.Error())
		return nil
	}
	task := gjson.GetBytes(r.Body, "Task")
	if !task.IsObject() {
		return nil
	}
	b := []byte(task.Raw)
	if len(a.Body.Warnings) > 0 {
		if w, err := sjson.SetBytes(b, "Body.Warnings", a.Body.Warnings); err == nil {
			b = w
		}
	}
	return b
}

// --- OpenAPI -----------------------------------------------------------------

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// OpenAPIPaths describes the mounted partner routes for /openapi.json.
func (ps *PartnerSet) OpenAPIPaths() map[string]any {
	out := map[string]any{}
	for _, name := range ps.names {
		p := ps.partners[name]
		st := p.state.Load()
		for _, rt := range p.spec.Routes {
			method := strings.ToLower(rt.Method)
			if method == "" {
				method = "post"
			}
			if method == "get" || method == "head" {
				continue
			}
			path := ginParam.ReplaceAllString("/partners/"+name+rt.Path, "{$1}")
			var params []any
			for _, m := range ginParam.FindAllStringSubmatch(rt.Path, -1) {
				params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
			a := p.spec.Auth
			authDoc := "none declared (partner disabled)"
			if a != nil {
				authDoc = a.Kind
				switch {
				case a.Header != "":
					authDoc += " in header " + a.Header
					params = append(params, map[string]any{"name": a.Header, "in": "header", "required": true, "schema": map[string]any{"type": "string"}})
				case a.Query != "":
					authDoc += " in query parameter " + a.Query
					params = append(params, map[string]any{"name": a.Query, "in": "query", "required": true, "schema": map[string]any{"type": "string"}})
				case a.SignatureField != "":
					authDoc += " signature in body member " + a.SignatureField
				}
			}
			content := map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
			if rt.FormField != "" {
				form := map[string]any{"schema": map[string]any{"type": "object", "required": []string{rt.FormField},
					"properties": map[string]any{rt.FormField: map[string]any{"type": "string", "description": "the JSON document"}}}}
				content["application/x-www-form-urlencoded"] = form
				content["multipart/form-data"] = form
			}
			responses := map[string]any{}
			codes := map[string][]string{
				ResponderBatch:     {"200", "400", "401", "413", "415", "503"},
				ResponderStatus:    {"200", "201", "400", "401", "404", "409", "413", "415", "422", "503"},
				ResponderSignedAck: {"201", "202", "400", "401", "403", "404", "409", "413", "415", "422", "503"},
			}[p.responder]
			for _, code := range codes {
				responses[code] = map[string]any{"description": http.StatusText(atoi(code))}
			}
			desc := fmt.Sprintf("Partner %s, route %s; message kinds: %s. Auth: %s. Answers: %s.",
				name, rt.Name, strings.Join(rt.Kinds, ", "), authDoc, p.responder)
			if !st.enabled {
				desc += " Disabled: " + st.reason + " (answers 404)."
			}
			item := map[string]any{
				"summary":             p.spec.Description,
				"description":         desc,
				"tags":                []string{"partner:" + name},
				"requestBody":         map[string]any{"required": true, "content": content},
				"responses":           responses,
				"x-partner-enabled":   st.enabled,
				"x-partner-responder": p.responder,
			}
			if len(params) > 0 {
				item["parameters"] = params
			}
			pi, _ := out[path].(map[string]any)
			if pi == nil {
				pi = map[string]any{}
				out[path] = pi
			}
			pi[method] = item
		}
	}
	return out
}
