package partners

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/equus/sogateway/gateway"
	"github.com/equus/sogateway/mappings"
)

// table is one generation of the REST partners: by name, and their names sorted.
type table struct {
	byName map[string]*partner
	names  []string
}

// route is one compiled partner route: method and path segments (static,
// ":name" or a final "*name").
type route struct {
	method string
	segs   []string
	path   string // as declared, for messages
	h      gin.HandlerFunc
}

// match returns the route parameters when the path segments match.
func (rt *route) match(segs []string) (gin.Params, bool) {
	var params gin.Params
	for i, s := range rt.segs {
		switch {
		case strings.HasPrefix(s, "*"):
			return append(params, gin.Param{Key: s[1:], Value: "/" + strings.Join(segs[i:], "/")}), true
		case i >= len(segs):
			return nil, false
		case strings.HasPrefix(s, ":"):
			if segs[i] == "" {
				return nil, false
			}
			params = append(params, gin.Param{Key: s[1:], Value: segs[i]})
		case s != segs[i]:
			return nil, false
		}
	}
	return params, len(segs) == len(rt.segs)
}

// statics counts a route's static segments: the more specific route wins.
func (rt *route) statics() int {
	n := 0
	for _, s := range rt.segs {
		if !strings.HasPrefix(s, ":") && !strings.HasPrefix(s, "*") {
			n++
		}
	}
	return n
}

// Sync makes the partner table follow the registry: a partner whose mapping
// version changed is rebuilt whole (routes, auth, responder, rules), a new
// one is added and a removed one dropped; the new table replaces the old in
// one atomic store. Register calls it, and the registry after every reload.
func (ps *Set) Sync() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	old := ps.live.Load()
	next := &table{byName: map[string]*partner{}}
	for _, name := range ps.reg.Names() {
		m := ps.reg.Get(name)
		if m == nil || len(m.Spec().Routes) == 0 {
			continue
		}
		p := old.byName[name]
		if p == nil || p.m.Version() != m.Version() {
			p = ps.newPartner(name, m)
			what := "partner routes mounted"
			if old.byName[name] != nil {
				what = "partner routes and auth reloaded"
			}
			ps.log.Info(what, "partner", name, "version", m.Version(), "routes", p.routes, "enabled", p.state.Load().enabled)
		}
		next.byName[name] = p
		next.names = append(next.names, name)
	}
	for _, name := range old.names {
		if next.byName[name] == nil {
			ps.log.Warn("partner routes removed", "partner", name)
		}
	}
	ps.live.Store(next)
}

// newPartner builds one version of a partner from its mapping.
func (ps *Set) newPartner(name string, m *mappings.Mapping) *partner {
	p := &partner{name: name, spec: m.Spec(), m: m}
	p.responder = ps.responderOf(p)
	p.resp = responders[p.responder]
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
		r := route{method: method, segs: strings.Split(strings.TrimPrefix(rt.Path, "/"), "/"), path: rt.Path, h: ps.handler(p, rt)}
		if dup := p.conflict(&r); dup != "" {
			p.warnings = append(p.warnings, fmt.Sprintf("route %s %s not mounted: it conflicts with %s", method, path, dup))
			continue
		}
		p.table = append(p.table, r)
		p.routes = append(p.routes, method+" "+path)
	}
	return p
}

// conflict names a route of p that matches the same requests as r, or "".
func (p *partner) conflict(r *route) string {
	for i := range p.table {
		o := &p.table[i]
		if o.method != r.method || len(o.segs) != len(r.segs) {
			continue
		}
		same := true
		for j := range o.segs {
			a, b := o.segs[j], r.segs[j]
			wa, wb := strings.HasPrefix(a, ":") || strings.HasPrefix(a, "*"), strings.HasPrefix(b, ":") || strings.HasPrefix(b, "*")
			if wa != wb || !wa && a != b {
				same = false
				break
			}
		}
		if same {
			return o.method + " " + o.path
		}
	}
	return ""
}

// lookup finds the live partner route for a request: the partner version
// and the handler, with the route parameters. ok is false when no partner
// route matches.
func (ps *Set) lookup(r *http.Request) (h gin.HandlerFunc, params gin.Params, ok bool) {
	rest, found := strings.CutPrefix(r.URL.Path, "/partners/")
	if !found {
		return nil, nil, false
	}
	name, sub, _ := strings.Cut(rest, "/")
	p := ps.live.Load().byName[name]
	if p == nil {
		return nil, nil, false
	}
	segs := strings.Split(sub, "/")
	best := -1
	for i := range p.table {
		rt := &p.table[i]
		if rt.method != r.Method {
			continue
		}
		if prm, ok := rt.match(segs); ok && rt.statics() > best {
			best, h, params = rt.statics(), rt.h, prm
		}
	}
	return h, params, h != nil
}

// Claims reports whether a live partner route matches r.
func (ps *Set) Claims(r *http.Request) bool {
	_, _, ok := ps.lookup(r)
	return ok
}

// Serve serves c with the live partner route that matches it, or answers
// 404. It is the handler gatewayd installs for requests no static route
// matches (Options.Mount).
func (ps *Set) Serve(c *gin.Context) {
	h, params, ok := ps.lookup(c.Request)
	if !ok {
		gateway.WriteProblem(c, gateway.Problem{Status: http.StatusNotFound, Detail: "no route " + c.Request.Method + " " + c.Request.URL.Path})
		return
	}
	c.Params = params
	h(c)
}

// serveOr serves partner routes and answers anything else with status
// (404 or 405), for an engine without gateway.Gateway's fallbacks.
func (ps *Set) serveOr(status int) gin.HandlerFunc {
	return func(c *gin.Context) {
		if ps.Claims(c.Request) {
			c.Status(http.StatusOK)
			ps.Serve(c)
			return
		}
		detail := "no route " + c.Request.Method + " " + c.Request.URL.Path
		if status == http.StatusMethodNotAllowed {
			detail = c.Request.Method + " is not allowed on " + c.Request.URL.Path
		}
		gateway.WriteProblem(c, gateway.Problem{Status: status, Detail: detail})
	}
}
