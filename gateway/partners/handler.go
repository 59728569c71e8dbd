package partners

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"github.com/equus/sogateway/gateway"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/gateway/partnerauth"
	"github.com/equus/sogateway/internal/inbound"
	"github.com/equus/sogateway/internal/model"
	"github.com/equus/sogateway/mappings"
)

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

// call is one partner request in flight.
type call struct {
	c        *gin.Context
	ps       *Set
	p        *partner
	st       *state
	raw      []byte // the exact bytes received
	doc      []byte // the JSON document handed to the mapping
	verified *partnerauth.Verified
	m        *mappings.Mapping
}

func (ps *Set) handler(p *partner, rt mappings.Route) gin.HandlerFunc {
	routeName := rt.Name
	if routeName == "" {
		routeName = rt.Path
	}
	return func(c *gin.Context) {
		st := p.state.Load()
		if !st.enabled {
			gateway.WriteProblem(c, gateway.Problem{Status: http.StatusNotFound, Detail: "no route " + c.Request.Method + " " + c.Request.URL.Path})
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
		if pe := p.resp.check(k); pe != nil {
			k.fail(pe)
			return
		}
		// The mapping renders the answer (Pruvan's response, EMG's Ack).
		k.m = p.m
		params := make(map[string]string, len(c.Params))
		for _, prm := range c.Params {
			params[prm.Key] = prm.Value
		}
		results, err := ps.in.Receive(ctx, inbound.Message{
			Partner: p.name,
			// The version whose route and auth admitted the request reads it.
			Translator: p.m,
			Input: mappings.Input{Protocol: model.ProtocolREST, Route: routeName, Headers: mappingHeaders(c.Request.Header, p.spec.Auth),
				Params: params, Body: doc, Settings: st.settings},
			// A signed message id (Standard Webhooks) is the partner's id for the message.
			MessageID: v.MessageID,
			// The message as received includes its URL: the same content
			// posted to two orders is two messages.
			Scope: paramScope(c.Params),
		})
		if err != nil {
			if !inbound.Permanent(err) {
				_ = v.Release(ctx)
				_ = c.Error(err)
				k.fail(perr(http.StatusServiceUnavailable, "", "the %s mapping is not loaded; retry later", p.name))
				return
			}
			field, rule := fieldOf(err)
			k.fail(perr(http.StatusBadRequest, field, "%s", fieldRule(field, rule)))
			return
		}
		retry := false
		for _, r := range results {
			ps.items.WithLabelValues(p.name, r.Kind, outcomeLabel(r)).Inc()
			if r.Err != nil && !inbound.Permanent(r.Err) {
				retry = true
				_ = c.Error(r.Err)
			}
			if re := (*mappings.RuleError)(nil); errors.As(r.Err, &re) && re.Rule != "" {
				ps.log.InfoContext(ctx, "partner item refused by a mapping rule", "partner", p.name, "rule", re.Rule, "field", re.Field, "reason", re.Msg)
			}
		}
		if retry {
			// The sender must be able to retry what was not committed.
			_ = v.Release(ctx)
		}
		p.resp.answer(k, results)
	}
}

// fail answers a request-level failure in the partner's style.
func (k *call) fail(pe *partnerError) { k.p.resp.fail(k, pe) }

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
func outcomeLabel(r inbound.Result) string {
	switch {
	case r.Err == nil && r.Outcome.Duplicate:
		return "duplicate"
	case r.Err == nil && r.Outcome.Unchanged:
		return "unchanged"
	case r.Err == nil && r.Outcome.Created:
		return "created"
	case r.Err == nil:
		return "updated"
	case errors.Is(r.Err, model.ErrNotFound):
		return "not_found"
	case errors.Is(r.Err, model.ErrConflict):
		return "conflict"
	case errors.Is(r.Err, model.ErrRefused):
		return "refused"
	case errors.Is(r.Err, model.ErrInvalid):
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
		// The rule's file and line are ours: they go to the log (handler), never to the partner.
		return field, re.Msg
	case errors.As(err, &me):
		return me.Field, me.Rule
	case errors.As(err, &ve):
		return ve.Field, ve.Rule
	}
	if inbound.Permanent(err) {
		// Typed parts only: the wrapping chain is ours and goes to the log.
		return "", model.Describe(err)
	}
	return "", "the gateway could not store the message; retry later"
}

// fieldRule joins what fieldOf returns into one sentence.
func fieldRule(field, rule string) string {
	if field == "" {
		return rule
	}
	return field + ": " + rule
}
