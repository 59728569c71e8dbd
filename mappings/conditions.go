package mappings

import (
	"regexp"
	"strings"

	"github.com/tidwall/gjson"
)

// ccond is a compiled condition.
type ccond struct {
	op         condOp
	src        source
	vals       []string
	re         *regexp.Regexp
	exists     bool
	ignoreCase bool
	kids       []*ccond
}

type condOp uint8

const (
	cExists condOp = iota
	cEquals
	cIn
	cMatches
	cProtocol
	cRoute
	cOperation
	cAll
	cAny
	cNot
)

func (c *compiler) compileCond(cd *Cond) *ccond {
	var parts []*ccond
	if cd.Path != "" {
		src, msg := c.compileSource(cd.Path)
		if msg != "" {
			c.errPos(c.at(cd, "path", cd.Pos), "%s", msg)
		}
		n := 0
		cc := &ccond{src: src, ignoreCase: cd.IgnoreCase, op: cExists, exists: true}
		if cd.Equals != nil {
			cc.op, cc.vals = cEquals, []string{*cd.Equals}
			n++
		}
		if cd.In != nil {
			cc.op, cc.vals = cIn, cd.In
			n++
		}
		if cd.Exists != nil {
			cc.op, cc.exists = cExists, *cd.Exists
			n++
		}
		if cd.Matches != "" {
			re, err := regexp.Compile(cd.Matches)
			if err != nil {
				c.errPos(c.at(cd, "matches", cd.Pos), "invalid regexp: %v", err)
			}
			cc.op, cc.re = cMatches, re
			n++
		}
		if n > 1 {
			c.errPos(cd.Pos, "a condition tests its path with one of equals, in, exists, matches (use all: for several)")
		}
		if cc.ignoreCase {
			for i, v := range cc.vals {
				cc.vals[i] = strings.ToLower(v)
			}
		}
		parts = append(parts, cc)
	} else if cd.Equals != nil || cd.In != nil || cd.Exists != nil || cd.Matches != "" {
		c.errPos(cd.Pos, "equals, in, exists and matches need a path")
	}
	if cd.Protocol != "" {
		switch cd.Protocol {
		case "rest", "soap", "email", "platform":
		default:
			c.errPos(c.at(cd, "protocol", cd.Pos), "unknown protocol %q%s", cd.Protocol, hint(cd.Protocol, []string{"rest", "soap", "email"}))
		}
		parts = append(parts, &ccond{op: cProtocol, vals: []string{cd.Protocol}})
	}
	if cd.Route != "" {
		found := false
		for _, r := range c.spec.Routes {
			found = found || r.Name == cd.Route || r.Path == cd.Route
		}
		if !found {
			var names []string
			for _, r := range c.spec.Routes {
				names = append(names, r.Name, r.Path)
			}
			c.errPos(c.at(cd, "route", cd.Pos), "unknown route %q%s", cd.Route, hint(cd.Route, names))
		}
		parts = append(parts, &ccond{op: cRoute, vals: []string{cd.Route}})
	}
	if cd.Operation != "" {
		found := false
		var names []string
		if c.spec.SOAP != nil {
			for _, op := range c.spec.SOAP.Operations {
				found = found || op.Name == cd.Operation
				names = append(names, op.Name)
			}
		}
		if !found {
			c.errPos(c.at(cd, "operation", cd.Pos), "unknown SOAP operation %q%s", cd.Operation, hint(cd.Operation, names))
		}
		parts = append(parts, &ccond{op: cOperation, vals: []string{cd.Operation}})
	}
	if cd.All != nil {
		cc := &ccond{op: cAll}
		for i := range cd.All {
			cc.kids = append(cc.kids, c.compileCond(&cd.All[i]))
		}
		parts = append(parts, cc)
	}
	if cd.Any != nil {
		cc := &ccond{op: cAny}
		for i := range cd.Any {
			cc.kids = append(cc.kids, c.compileCond(&cd.Any[i]))
		}
		parts = append(parts, cc)
	}
	if cd.Not != nil {
		parts = append(parts, &ccond{op: cNot, kids: []*ccond{c.compileCond(cd.Not)}})
	}
	switch len(parts) {
	case 0:
		c.errPos(cd.Pos, "empty condition: give path, protocol, route, operation, all, any or not")
		return &ccond{op: cAll}
	case 1:
		return parts[0]
	}
	return &ccond{op: cAll, kids: parts}
}

func present(r gjson.Result) bool { return r.Exists() && r.Type != gjson.Null }

func (e *env) eval(c *ccond, ctx gjson.Result) bool {
	switch c.op {
	case cExists:
		return present(e.get(&c.src, ctx)) == c.exists
	case cEquals, cIn:
		r := e.get(&c.src, ctx)
		if !present(r) {
			return false
		}
		s := r.String()
		if c.ignoreCase {
			s = strings.ToLower(s)
		}
		for _, v := range c.vals {
			if v == s {
				return true
			}
		}
		return false
	case cMatches:
		r := e.get(&c.src, ctx)
		return present(r) && c.re.MatchString(r.String())
	case cProtocol:
		return string(e.in.Protocol) == c.vals[0]
	case cRoute:
		if e.in.Route == c.vals[0] {
			return true
		}
		for _, rt := range e.m.spec.Routes {
			if (rt.Name == c.vals[0] || rt.Path == c.vals[0]) && (e.in.Route == rt.Name || e.in.Route == rt.Path) {
				return true
			}
		}
		return false
	case cOperation:
		return e.operation() == c.vals[0]
	case cAll:
		for _, k := range c.kids {
			if !e.eval(k, ctx) {
				return false
			}
		}
		return true
	case cAny:
		for _, k := range c.kids {
			if e.eval(k, ctx) {
				return true
			}
		}
		return false
	case cNot:
		return !e.eval(c.kids[0], ctx)
	}
	return false
}
