package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/internal/access"
	"github.com/equus/sogateway/internal/model"
)

// Access control of /v1 (DESIGN §4 "Access"). Every request under /v1 must
// carry "Authorization: Bearer <token>": the bootstrap admin token or an API
// key. No valid credential answers 401, a credential without the route's
// scope 403, both as problem+json. The operations endpoints (/healthz,
// /readyz, /metrics, /openapi.json) and the partner routes (which carry their
// own authentication) are not under /v1 and stay open.

// PrincipalOf returns the principal that authenticated the request, or nil.
func PrincipalOf(c *gin.Context) *access.Principal { return access.FromContext(c.Request.Context()) }

// BearerToken returns the token of an "Authorization: Bearer …" header, or "".
func BearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func isV1(path string) bool { return path == "/v1" || strings.HasPrefix(path, "/v1/") }

// adminRoutes need the admin scope for every method; integrationRoutes need it
// to change anything (reading needs read).
var (
	adminPrefixes       = []string{"/v1/api-keys", "/v1/audit"}
	integrationPrefixes = []string{"/v1/vendors", "/v1/definitions", "/v1/groups", "/v1/permission-sets", "/v1/integrations"}
	// vendorWriteRoutes are vendor sub-resources a write key may change
	// (the hub declares its maintenance windows; operators replay).
	vendorWriteRoutes = []string{"/v1/vendors/:vendor/offline-window", "/v1/vendors/:vendor/dead-letters/replay"}
)

// RequiredScope returns the scope a request to route (gin's full path, e.g.
// /v1/orders/:id) with method needs.
func RequiredScope(method, route string) access.Scope {
	for _, p := range adminPrefixes {
		if route == p || strings.HasPrefix(route, p+"/") {
			return access.ScopeAdmin
		}
	}
	if method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions {
		return access.ScopeRead
	}
	for _, r := range vendorWriteRoutes {
		if route == r {
			return access.ScopeWrite
		}
	}
	for _, p := range integrationPrefixes {
		if route == p || strings.HasPrefix(route, p+"/") {
			return access.ScopeAdmin
		}
	}
	return access.ScopeWrite
}

// boundRoutes are the routes a key bound to a partner or vendor may use; the
// handlers (or authorize) narrow each to the binding's own orders.
var boundRoutes = map[string]bool{
	"/v1/schema": true, "/v1/orders": true, "/v1/orders/:id": true, "/v1/orders/:id/events": true,
	"/v1/orders/:id/messages": true, "/v1/orders/:id/send": true, "/v1/orders/:id/deliveries": true,
	"/v1/orders/:id/send-preview": true, "/v1/orders/:id/resolution-rejection": true,
	"/v1/vendors/:vendor/offline-window": true, "/v1/vendors/:vendor/dead-letters": true,
	"/v1/deliveries": true,
}

// authenticate guards every /v1 request: 401 without a valid credential, 403
// without the route's scope or outside the key's binding.
func (g *Gateway) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		if !isV1(c.Request.URL.Path) {
			c.Next()
			return
		}
		var p *access.Principal
		var err error = access.ErrUnauthenticated
		if tok := BearerToken(c.Request); tok != "" && g.d.Access != nil {
			p, err = g.d.Access.Verify(c.Request.Context(), tok)
		}
		if err != nil {
			if !errors.Is(err, access.ErrUnauthenticated) {
				_ = c.Error(err)
				WriteProblem(c, Problem{Status: http.StatusServiceUnavailable, Title: "Credential check failed",
					Detail: "the credential could not be checked; see the gateway log for request id " + c.GetString("request_id")})
				return
			}
			c.Header("WWW-Authenticate", `Bearer realm="platform API"`)
			WriteProblem(c, Problem{Status: http.StatusUnauthorized, Title: "Unauthorized",
				Detail: "send an API key or the admin token as Authorization: Bearer <token>"})
			return
		}
		c.Request = c.Request.WithContext(access.WithPrincipal(c.Request.Context(), p))
		route := c.FullPath()
		if route == "" { // no such route: 404/405 follow, for authenticated callers only
			c.Next()
			return
		}
		if need := RequiredScope(c.Request.Method, route); !p.Can(need) {
			WriteProblem(c, Problem{Status: http.StatusForbidden, Title: "Forbidden",
				Detail: "this key (" + p.Name + ") lacks the " + string(need) + " scope " + c.Request.Method + " " + route + " needs"})
			return
		}
		if p.Bound() {
			if !g.withinBinding(c, p, route) {
				return
			}
		}
		c.Next()
	}
}

// withinBinding answers 403 (or 404 for an order outside the binding, so its
// existence does not leak) and returns false when a bound key reaches past
// its partner or vendor.
func (g *Gateway) withinBinding(c *gin.Context, p *access.Principal, route string) bool {
	if !boundRoutes[route] {
		WriteProblem(c, Problem{Status: http.StatusForbidden, Title: "Forbidden",
			Detail: "a key bound to " + binding(p) + " cannot use " + c.Request.Method + " " + route})
		return false
	}
	if v := c.Param("vendor"); v != "" && v != p.Vendor {
		WriteProblem(c, Problem{Status: http.StatusForbidden, Title: "Forbidden",
			Detail: "a key bound to " + binding(p) + " cannot reach vendor " + v})
		return false
	}
	if id := c.Param("id"); id != "" && strings.HasPrefix(route, "/v1/orders/:id") {
		o, err := g.d.Store.GetOrder(c.Request.Context(), id)
		if err != nil {
			WriteError(c, err)
			return false
		}
		if !g.Sees(c.Request.Context(), p, o) {
			WriteError(c, &notFound{id: id})
			return false
		}
	}
	return true
}

type notFound struct{ id string }

func (e *notFound) Error() string { return "order " + e.id + " not found" }
func (e *notFound) Unwrap() error { return model.ErrNotFound }

func binding(p *access.Principal) string {
	if p.Partner != "" {
		return "partner " + p.Partner
	}
	return "vendor " + p.Vendor
}

// Sees reports whether p may see order o: an unbound key sees every order; a
// partner-bound key the orders of its partner; a vendor-bound key the orders
// whose partner it is or that were sent to it.
func (g *Gateway) Sees(ctx context.Context, p *access.Principal, o *model.Order) bool {
	switch {
	case !p.Bound():
		return true
	case p.Partner != "":
		return o.Partner == p.Partner
	case o.Partner == p.Vendor:
		return true
	}
	if g.vendorsOf == nil {
		return false
	}
	vs, err := g.vendorsOf(ctx, o.ID)
	if err != nil {
		return false
	}
	for _, v := range vs {
		if v == p.Vendor {
			return true
		}
	}
	return false
}

// Access returns the key store that verifies /v1 credentials (an
// access.Verifier), for the console and other surfaces that share them.
func (g *Gateway) Access() *access.Keys { return g.d.Access }

// SetVendorsOf sets how the gateway learns which vendors an order was sent
// to (dispatch's delivery records), for keys bound to a vendor.
func (g *Gateway) SetVendorsOf(f func(ctx context.Context, orderID string) ([]string, error)) {
	g.vendorsOf = f
}

// mayCreateFor answers 403 and returns false when a bound key creates an
// order for another partner than its own.
func (g *Gateway) mayCreateFor(c *gin.Context, partner string) bool {
	p := PrincipalOf(c)
	if !p.Bound() {
		return true
	}
	own := p.Partner
	if own == "" {
		own = p.Vendor
	}
	if partner != own {
		WriteProblem(c, Problem{Status: http.StatusForbidden, Title: "Forbidden",
			Detail: "a key bound to " + binding(p) + " creates orders of " + own + " only",
			Errors: []FieldProblem{{Field: "partner", Rule: "must be " + own}}})
		return false
	}
	return true
}
