package mappings

import (
	"regexp"
	"strings"
	"time"

	"github.com/equus/sogateway/internal/model"
)

var authKinds = []string{"apikey", "rsa-pkcs1v15-sha256", "rsa-pss-sha256", "ed25519", "hmac-sha256", "standard-webhooks", "basic", "wsse"}

// The auth kinds that verify a signature over the request, in a header or a body member.
var signatureKinds = []string{"rsa-pkcs1v15-sha256", "rsa-pss-sha256", "ed25519", "hmac-sha256"}

// checkAuth checks the auth declaration the way the gateway reads it, so that
// a mapping that validates is never disabled for its declaration (only for a
// missing variable or key file): REST routes need an auth; each kind needs
// where its credential travels and the name of the variable holding it; the
// signature options apply to signature kinds only.
func (c *compiler) checkAuth(s *Spec) {
	top := Pos{File: c.file, Line: 1, Col: 1}
	a := s.Auth
	if a == nil {
		if len(s.Routes) > 0 {
			c.errPos(c.at(s, "routes", top), "REST routes need an auth: declare auth.kind and the name of the variable holding the credential (e.g. auth: {kind: apikey, header: X-Api-Key, secret_env: %s_API_KEY})", envStem(s.Partner))
		}
		return
	}
	ap := c.at(s, "auth", top)
	for i, k := range append([]string{a.Kind}, a.Also...) {
		if !contains(authKinds, k) {
			key := "kind"
			if i > 0 {
				key = "also"
			}
			if k == "" {
				c.errPos(ap, "auth.kind is required (known: %s)", strings.Join(authKinds, ", "))
				continue
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
	need := func(key, v, what string) {
		if v == "" {
			c.errPos(c.at(a, "kind", ap), "auth kind %s needs auth.%s, the name of the variable holding %s", a.Kind, key, what)
		}
	}
	signature := contains(signatureKinds, a.Kind)
	switch a.Kind {
	case "apikey":
		if a.Header == "" && a.Query == "" {
			c.errPos(c.at(a, "kind", ap), "auth kind apikey needs auth.header or auth.query (where the key is sent)")
		}
		need("secret_env", a.SecretEnv, "the API key")
	case "hmac-sha256":
		need("secret_env", a.SecretEnv, "the shared secret")
	case "rsa-pkcs1v15-sha256", "rsa-pss-sha256", "ed25519":
		need("public_key_file_env", a.PublicKeyFileEnv, "the path of the partner's public key (PEM)")
	case "standard-webhooks":
		need("secret_env", a.SecretEnv, "the whsec_ secret")
	case "basic", "wsse":
		need("user_env", a.UserEnv, "the user name")
		need("password_env", a.PasswordEnv, "the password")
	}
	if signature {
		switch {
		case a.Header == "" && a.SignatureField == "":
			c.errPos(c.at(a, "kind", ap), "auth kind %s needs auth.header or auth.signature_field (where the signature is sent)", a.Kind)
		case a.Header != "" && a.SignatureField != "":
			c.errPos(c.at(a, "signature_field", ap), "auth: declare header or signature_field, not both")
		}
	}
	only := func(key, v string, ok bool, why string) {
		if v != "" && !ok {
			c.errPos(c.at(a, key, ap), "auth.%s applies to %s only", key, why)
		}
	}
	headerSig := signature && a.SignatureField == ""
	only("encoding", a.Encoding, signature, "signature kinds ("+strings.Join(signatureKinds, ", ")+")")
	only("prefix", a.Prefix, headerSig, "a signature sent in a header")
	only("timestamp_header", a.TimestampHeader, headerSig, "a signature sent in a header")
	only("signed", a.Signed, headerSig, "a signature sent in a header")
	only("tolerance", a.Tolerance, a.TimestampHeader != "" || a.Kind == "standard-webhooks", "auth.timestamp_header or kind standard-webhooks")
	switch a.Encoding {
	case "", "base64", "hex":
	default:
		c.errPos(c.at(a, "encoding", ap), "auth.encoding: unknown encoding %q (known: base64, hex)%s", a.Encoding, hint(a.Encoding, []string{"base64", "hex"}))
	}
	if a.Tolerance != "" {
		if d, err := time.ParseDuration(a.Tolerance); err != nil || d <= 0 {
			c.errPos(c.at(a, "tolerance", ap), "auth.tolerance %q is not a positive duration (e.g. 30s, 5m)", a.Tolerance)
		}
	}
	if msg := signedTemplateProblem(a.Signed, a.TimestampHeader != ""); msg != "" {
		c.errPos(c.at(a, "signed", ap), "auth.signed %q: %s", a.Signed, msg)
	}
}

// signedTemplateProblem says what is wrong with a signed-content template
// (the rules of partnerauth.CheckSignedTemplate), or "".
func signedTemplateProblem(t string, timestamp bool) string {
	if t == "" {
		return ""
	}
	rest := strings.NewReplacer("{body}", "", "{timestamp}", "").Replace(t)
	switch {
	case strings.Count(t, "{body}") != 1:
		return "must hold {body} exactly once"
	case strings.Count(t, "{timestamp}") > 1:
		return "holds {timestamp} more than once"
	case strings.Contains(t, "{timestamp}") && !timestamp:
		return "uses {timestamp} but auth.timestamp_header is not declared"
	case strings.ContainsAny(rest, "{}"):
		return "only {timestamp} and {body} may be used"
	}
	return ""
}

// envStem is a partner name as the start of a variable name (acme-field: ACME_FIELD).
func envStem(partner string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(partner) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "PARTNER"
	}
	return b.String()
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
