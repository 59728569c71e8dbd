package mappings

import (
	"regexp"
	"strings"

	"github.com/equus/sogateway/internal/model"
)

var authKinds = []string{"apikey", "rsa-pkcs1v15-sha256", "rsa-pss-sha256", "ed25519", "hmac-sha256", "standard-webhooks", "basic", "wsse"}

func (c *compiler) checkAuth(s *Spec) {
	a := s.Auth
	if a == nil {
		return
	}
	ap := c.at(s, "auth", Pos{File: c.file, Line: 1, Col: 1})
	for i, k := range append([]string{a.Kind}, a.Also...) {
		if !contains(authKinds, k) {
			key := "kind"
			if i > 0 {
				key = "also"
			}
			c.errPos(c.at(a, key, ap), "auth: unknown kind %q%s", k, hint(k, authKinds))
		}
	}
	for key, v := range map[string]string{"secret_env": a.SecretEnv, "user_env": a.UserEnv, "password_env": a.PasswordEnv,
		"public_key_file_env": a.PublicKeyFileEnv, "signing_key_file_env": a.SigningKeyFileEnv} {
		if v != "" && !envNameRE.MatchString(v) {
			c.errPos(c.at(a, key, ap), "auth.%s must name an environment variable (A-Z, 0-9, _), never hold a value", key)
		}
	}
}

func (c *compiler) checkRoutes(s *Spec, top Pos) {
	for i := range s.Routes {
		r := &s.Routes[i]
		if r.Method == "" {
			r.Method = "POST"
		}
		r.Method = strings.ToUpper(r.Method)
		if !strings.HasPrefix(r.Path, "/") {
			c.errPos(c.at(r, "path", top), "route path %q must start with /", r.Path)
		}
	}
}

func (c *compiler) checkSOAP(s *Spec) {
	if s.SOAP == nil {
		return
	}
	for i := range s.SOAP.Operations {
		op := &s.SOAP.Operations[i]
		for j := range op.Params {
			p := &op.Params[j]
			switch p.Type {
			case "":
				p.Type = "string"
			case "string", "int", "boolean", "dateTime":
			default:
				c.errPos(c.at(p, "type", Pos{File: c.file, Line: 1, Col: 1}), "soap param %s.%s: unknown type %q (known: string, int, boolean, dateTime)%s", op.Name, p.Name, p.Type, hint(p.Type, []string{"string", "int", "boolean", "dateTime"}))
			}
		}
	}
}

func (c *compiler) checkMail(s *Spec) {
	ms := s.Mail
	if ms == nil {
		return
	}
	def := Pos{File: c.file, Line: 1, Col: 1}
	if ms.Tags != "" {
		if re, err := regexp.Compile(ms.Tags); err != nil {
			c.errPos(c.at(ms, "tags", def), "mail.tags: %v", err)
		} else if re.SubexpIndex("key") < 0 || re.SubexpIndex("value") < 0 {
			c.errPos(c.at(ms, "tags", def), "mail.tags needs the named groups (?P<key>…) and (?P<value>…)")
		}
	}
	for i := range ms.Matchers {
		mt := &ms.Matchers[i]
		p := c.at(mt, "pattern", def)
		switch {
		case mt.Source == "subject" || mt.Source == "body" || strings.HasPrefix(mt.Source, "header:"):
		default:
			c.errPos(c.at(mt, "source", def), "mail matcher %s: unknown source %q (known: header:<Name>, subject, body)", mt.Name, mt.Source)
		}
		re, err := regexp.Compile(mt.Pattern)
		if err != nil {
			c.errPos(p, "mail matcher %s: %v", mt.Name, err)
			continue
		}
		if mt.Group == "" || re.SubexpIndex(mt.Group) < 0 {
			c.errPos(p, "mail matcher %s: pattern has no named group %q", mt.Name, mt.Group)
		}
		switch mt.Pick {
		case "":
			mt.Pick = "first"
		case "first", "last":
		default:
			c.errPos(c.at(mt, "pick", def), "mail matcher %s: pick must be first or last, got %q", mt.Name, mt.Pick)
		}
	}
}

func compatible(have, want string) bool {
	switch {
	case have == tyAny || want == tyAny || have == want:
		return true
	case want == tyString:
		return have == tyNumber || have == tyTime
	}
	return false
}

func typeOfConst(v any) string {
	switch v.(type) {
	case string:
		return tyString
	case int, int64, float64, uint64:
		return tyNumber
	case bool:
		return tyBool
	case []any:
		return tyArray
	case map[string]any:
		return tyObject
	case nil:
		return tyNothing
	}
	return tyAny
}

// checkCanonicalValues checks what a rule writes to status or flags where it
// is known at load: a constant must be a canonical status or flag, and a
// value map feeding status must be declared with status: true.
func (c *compiler) checkCanonicalValues(r *Rule, cr *crule) {
	switch cr.to.kind {
	case tStatus:
		if s, ok := cr.value.(string); ok && cr.hasValue && len(cr.do) == 0 && !model.Status(s).Valid() {
			c.errPos(c.at(r, "value", r.Pos), "%q is not a canonical status%s", s, hint(s, statusNames()))
		}
		if n := len(r.Do); n > 0 && r.Do[n-1].Name == "map" {
			name, _ := r.Do[n-1].Arg.(string)
			if vm, ok := c.spec.Maps[name]; ok && !vm.Status {
				c.errPos(r.Do[n-1].Pos, "map %s feeds status but is not declared with status: true (its values are not checked against the canonical statuses)", name)
			}
		}
	case tFlags:
		if s, ok := cr.value.(string); ok && cr.hasValue && s != string(model.FlagRush) && s != string(model.FlagRework) {
			c.errPos(c.at(r, "value", r.Pos), "%q is not a flag (rush, rework)%s", s, hint(s, []string{"rush", "rework"}))
		}
	}
}
