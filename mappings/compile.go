package mappings

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/equus/sogateway/internal/model"
	"github.com/tidwall/gjson"
)

// tkind is the kind of place a rule writes to.
type tkind uint8

const (
	tNone tkind = iota
	tRefsRequestor
	tRefsServicer
	tCompany
	tServiceType
	tStatus
	tFlags
	tPartnerStatus
	tClientStatus
	tField
	tData
	tTasks
	tAttachments
	tMessage
	tTargetOrderID
	tTargetRequestor
	tTargetServicer
	tAccepted
	tElem // a key of an each element
	tOut  // a render output path or text variable
)

var inboundTargets = map[string]tkind{
	"refs.requestor": tRefsRequestor, "refs.servicer": tRefsServicer, "company": tCompany,
	"service_type": tServiceType, "status": tStatus, "flags": tFlags, "partner_status": tPartnerStatus,
	"client_status": tClientStatus, "tasks": tTasks, "attachments": tAttachments, "message": tMessage,
	"target.order_id": tTargetOrderID, "target.requestor": tTargetRequestor, "target.servicer": tTargetServicer,
	"accepted": tAccepted,
}

var inboundTargetNames = func() []string {
	n := []string{"fields.<name>", "data.<name>"}
	for k := range inboundTargets {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}()

var taskKeys = []string{"id", "name", "status", "instructions"}
var attachmentKeys = []string{"name", "content_type", "size", "sha256", "url", "stored_at"}

var (
	fieldNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	dataNameRE  = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	envNameRE   = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)
	xmlPathRE   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.:-]*$`)
)

// value types known to the type checker.
const (
	tyAny     = "any"
	tyString  = "string"
	tyNumber  = "number"
	tyBool    = "boolean"
	tyArray   = "array"
	tyObject  = "object"
	tyTime    = "timestamp"
	tyNothing = "null"
)

var ruleTypes = []string{tyString, tyNumber, tyBool, tyArray, tyObject, tyTime}

// target is where a compiled rule writes.
type target struct {
	kind tkind
	name string // field / data / element key / output path
}

// crule is a compiled rule.
type crule struct {
	pos      Pos
	where    string // "file:line" for runtime errors
	to       target
	toText   string
	from     []source
	hasValue bool
	value    any
	tmpl     *template
	typ      string
	required bool
	pattern  *regexp.Regexp
	expect   string
	maxItems int
	hasDef   bool
	def      any
	do       []*ctransform
	when     *ccond
	status   *cstatus
	each     []*crule
	elemKind tkind // for each: tasks, attachments or plain maps
	fast     bool  // string-only rule: see env.runFast
}

// ckind is a compiled inbound kind.
type ckind struct {
	name      string
	pos       Pos
	match     *ccond
	event     model.EventType
	create    bool
	recreate  bool
	require   model.Require
	messageID *source
	rules     []*crule
	refuse    []*crefusal
	pre       *prefetch
	nFields   int // field and data rules, to size the maps once
	nData     int
}

type crefusal struct {
	where   string
	when    *ccond
	field   string
	message string
}

// cstatus is a compiled status table.
type cstatus struct {
	name       string
	ignoreCase bool
	unset      *cstatusRow
	rows       map[string]*cstatusRow
	known      []string
}

type cstatusRow struct {
	partner      string
	status       *model.Status
	flags        []model.Flag
	clientStatus string
	when         *ccond
	otherwise    string
	refuse       string
}

// cmap is a compiled value map.
type cmap struct {
	name       string
	fwd        map[string]string
	rev        map[string]string
	ignoreCase bool
	def        *string
	known      []string // partner values as written
}

// crender is a compiled render.
type crender struct {
	name        string
	format      string
	contentType string
	root, ns    string
	subject     *template
	body        *template
	headers     map[string]*template
	rules       []*crule
}

// compiler compiles one decoded Spec.
type compiler struct {
	*decoder
	spec     *Spec
	maps     map[string]*cmap
	statuses map[string]*cstatus
	render   bool
	format   string
	base     string // render: canonical path of the array an each rule iterates
}

func (c *compiler) where(p Pos) string { return filepath.Base(p.File) + ":" + strconv.Itoa(p.Line) }

// Mapping is one compiled partner mapping. It is immutable and safe for
// concurrent use.
type Mapping struct {
	name      string
	version   string
	file      string
	spec      *Spec
	kinds     []*ckind
	renders   map[string]*crender
	owners    map[string]model.Owner
	autoAdmin string // "true", "false" or a setting name
	settings  map[string]string
	messageID *source
	split     *source
	key       *source
	unwrap    []string
}

// Name returns the partner's name.
func (m *Mapping) Name() string { return m.name }

// Version returns the content hash of the mapping file, e.g. "sha256:ab12cd34ef56".
func (m *Mapping) Version() string { return m.version }

// Spec returns the decoded, validated declaration. Callers must not modify it.
func (m *Mapping) Spec() *Spec { return m.spec }

// File returns the path of the mapping file.
func (m *Mapping) File() string { return m.file }

// Kinds returns the names of the inbound message kinds in match order.
func (m *Mapping) Kinds() []string {
	out := make([]string, len(m.kinds))
	for i, k := range m.kinds {
		out[i] = k.name
	}
	return out
}

// Renders returns the names of the declared renders, sorted.
func (m *Mapping) Renders() []string {
	out := make([]string, 0, len(m.renders))
	for k := range m.renders {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// contentVersion returns the short content hash of src.
func contentVersion(src []byte) string {
	h := sha256.Sum256(src)
	return "sha256:" + hex.EncodeToString(h[:6])
}

// LoadFile parses, validates and compiles one mapping file. The partner name
// must equal the file's base name without extension.
func LoadFile(file string) (*Mapping, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("mappings: read %s: %w", file, err)
	}
	return compileFile(file, src)
}

func compileFile(file string, src []byte) (*Mapping, error) {
	rootNode, errs := parseYAML(file, src)
	if errs != nil {
		return nil, errs
	}
	d := &decoder{file: file, keys: map[any]map[string]Pos{}}
	spec := &Spec{}
	d.decode(rootNode, reflect.ValueOf(spec).Elem())
	// Compile even after decode errors so that every problem is listed at once.
	c := &compiler{decoder: d, spec: spec}
	m := c.compile(strings.TrimSuffix(filepath.Base(file), filepath.Ext(file)))
	if len(d.errs) > 0 {
		d.errs.sort()
		return nil, d.errs
	}
	m.version = contentVersion(src)
	m.file = file
	return m, nil
}

func (c *compiler) compile(want string) *Mapping {
	s := c.spec
	top := Pos{File: c.file, Line: 1, Col: 1}
	m := &Mapping{name: s.Partner, spec: s, renders: map[string]*crender{}, settings: map[string]string{}}
	if s.Partner == "" {
		c.errPos(top, "partner is required")
	} else if s.Partner != want {
		c.errPos(c.at(s, "partner", top), "partner %q must equal the folder and file name %q", s.Partner, want)
	}
	for _, p := range s.Protocols {
		switch p {
		case "rest", "soap", "email", "outbound":
		default:
			c.errPos(c.at(s, "protocols", top), "unknown protocol %q (known: rest, soap, email, outbound)%s", p, hint(p, []string{"rest", "soap", "email", "outbound"}))
		}
	}
	c.checkAuth(s)
	// settings
	for name, st := range s.Settings {
		p := c.mapAt(s.Settings, name, c.at(s, "settings", top))
		switch st.Type {
		case "", "string":
		case "boolean":
			if st.Default != "" {
				if _, err := strconv.ParseBool(st.Default); err != nil {
					c.errPos(p, "setting %s: default %q is not a boolean", name, st.Default)
				}
			}
		default:
			c.errPos(p, "setting %s: unknown type %q (known: string, boolean)", name, st.Type)
		}
		if len(st.Values) > 0 && st.Default != "" && !contains(st.Values, st.Default) {
			c.errPos(p, "setting %s: default %q is not one of %v", name, st.Default, st.Values)
		}
		m.settings[name] = st.Default
	}
	// owners
	m.owners = map[string]model.Owner{}
	for f, o := range s.Owners {
		p := c.mapAt(s.Owners, f, c.at(s, "owners", top))
		switch o {
		case model.OwnerPartner, model.OwnerPlatform, model.OwnerShared:
		default:
			c.errPos(p, "owners.%s: unknown owner %q (known: partner, platform, shared)%s", f, o, hint(string(o), []string{"partner", "platform", "shared"}))
		}
		if !fieldNameRE.MatchString(f) {
			c.errPos(p, "owners: %q is not a canonical field name (lower_snake_case)", f)
		}
		m.owners[f] = o
	}
	switch a := s.AutoAdmin; {
	case a == "" || a == "false":
		m.autoAdmin = "false"
	case a == "true":
		m.autoAdmin = "true"
	case strings.HasPrefix(a, "$settings."):
		name := strings.TrimPrefix(a, "$settings.")
		if _, ok := s.Settings[name]; !ok {
			c.errPos(c.at(s, "auto_admin", top), "auto_admin: unknown setting %q%s", name, hint(name, keys(s.Settings)))
		}
		m.autoAdmin = name
	default:
		c.errPos(c.at(s, "auto_admin", top), "auto_admin must be true, false or $settings.<name>, got %q", a)
	}
	m.messageID = c.optSource(s, "message_id", s.MessageID, top)
	m.split = c.optSource(s, "split", s.Split, top)
	m.key = c.optSource(s, "key", s.Key, top)
	for _, u := range s.Unwrap {
		if msg := validGJSONPath(u); msg != "" {
			c.errPos(c.at(s, "unwrap", top), "unwrap: invalid path %q: %s", u, msg)
		}
	}
	m.unwrap = s.Unwrap
	// maps and status tables first: rules refer to them.
	c.maps = map[string]*cmap{}
	for name, vm := range s.Maps {
		c.maps[name] = c.compileMap(name, vm)
	}
	c.statuses = map[string]*cstatus{}
	for name, st := range s.Statuses {
		c.statuses[name] = c.compileStatusTable(name, st)
	}
	c.checkRoutes(s, top)
	c.checkSOAP(s)
	c.checkMail(s)
	seen := map[string]bool{}
	for _, k := range s.Inbound {
		if seen[k.Kind] {
			c.errPos(c.at(k, "kind", k.Pos), "duplicate kind %q", k.Kind)
		}
		seen[k.Kind] = true
		m.kinds = append(m.kinds, c.compileKind(k))
	}
	for i := range s.Routes {
		r := &s.Routes[i]
		for _, k := range r.Kinds {
			if !seen[k] {
				c.errPos(c.at(r, "kinds", c.at(s, "routes", top)), "route %s: unknown kind %q%s", r.Path, k, hint(k, keys(seen)))
			}
		}
	}
	c.render = true
	for name, r := range s.Renders {
		m.renders[name] = c.compileRender(name, r)
	}
	return m
}

func (c *compiler) optSource(s any, key, p string, def Pos) *source {
	if p == "" {
		return nil
	}
	src, msg := compileSource(p)
	if msg != "" {
		c.errPos(c.at(s, key, def), "%s: %s", key, msg)
		return nil
	}
	return &src
}

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

func (c *compiler) compileMap(name string, vm *ValueMap) *cmap {
	cm := &cmap{name: name, fwd: map[string]string{}, rev: map[string]string{}, ignoreCase: vm.IgnoreCase, def: vm.Default}
	vals := keys(vm.Values)
	cm.known = vals
	for _, k := range vals {
		v := vm.Values[k]
		if vm.Status && !model.Status(v).Valid() {
			c.errPos(c.at(vm, "values", vm.Pos), "map %s: %q is not a canonical status%s", name, v, hint(v, statusNames()))
		}
		key := k
		if vm.IgnoreCase {
			key = strings.ToLower(k)
		}
		cm.fwd[key] = v
		if _, ok := cm.rev[v]; !ok {
			cm.rev[v] = k
		}
	}
	for k, v := range vm.Reverse {
		cm.rev[k] = v
	}
	return cm
}

func (c *compiler) compileStatusTable(name string, st *StatusTable) *cstatus {
	cs := &cstatus{name: name, ignoreCase: st.IgnoreCase, rows: map[string]*cstatusRow{}}
	row := func(r *StatusRow) *cstatusRow {
		cr := &cstatusRow{partner: r.Partner, clientStatus: r.ClientStatus, otherwise: r.Otherwise, refuse: r.Refuse}
		if r.Status != "" {
			s := model.Status(r.Status)
			if !s.Valid() {
				c.errPos(c.at(r, "status", r.Pos), "status table %s: %q is not a canonical status%s", name, r.Status, hint(r.Status, statusNames()))
			}
			cr.status = &s
		}
		for _, f := range r.Flags {
			if f != string(model.FlagRush) && f != string(model.FlagRework) {
				c.errPos(c.at(r, "flags", r.Pos), "status table %s: unknown flag %q (known: rush, rework)%s", name, f, hint(f, []string{"rush", "rework"}))
			}
			cr.flags = append(cr.flags, model.Flag(f))
		}
		if r.When != nil {
			cr.when = c.compileCond(r.When)
			if r.Otherwise == "" {
				c.errPos(r.Pos, "status table %s: row %q has when but no otherwise (the refusal message)", name, r.Partner)
			}
		}
		return cr
	}
	if st.Unset != nil {
		cs.unset = row(st.Unset)
	}
	for i := range st.Rows {
		r := &st.Rows[i]
		key := r.Partner
		if st.IgnoreCase {
			key = strings.ToLower(key)
		}
		if _, dup := cs.rows[key]; dup {
			c.errPos(c.at(r, "partner", r.Pos), "status table %s: duplicate partner status %q", name, r.Partner)
		}
		cs.rows[key] = row(r)
		cs.known = append(cs.known, r.Partner)
	}
	return cs
}

func statusNames() []string {
	out := make([]string, len(model.Statuses))
	for i, s := range model.Statuses {
		out[i] = string(s)
	}
	return out
}

func eventNames() []string {
	out := make([]string, len(model.EventTypes))
	for i, s := range model.EventTypes {
		out[i] = string(s)
	}
	return out
}

func (c *compiler) compileKind(k *Kind) *ckind {
	ck := &ckind{name: k.Kind, pos: k.Pos, create: k.Create, recreate: k.Recreate}
	if k.Kind == "" {
		c.errPos(k.Pos, "kind needs a name (kind: …)")
	}
	if k.Match != nil {
		ck.match = c.compileCond(k.Match)
	}
	ev := model.EventType(k.Event)
	if k.Event == "" {
		c.errPos(k.Pos, "kind %s: event is required (one of %s)", k.Kind, strings.Join(eventNames(), ", "))
	} else if !ev.Valid() {
		c.errPos(c.at(k, "event", k.Pos), "unknown event type %q%s", k.Event, hint(k.Event, eventNames()))
	}
	ck.event = ev
	if k.Require != nil {
		ck.require = model.Require{ServiceTypes: k.Require.ServiceTypes, Accepted: k.Require.Accepted, Open: k.Require.Open, Exists: k.Require.Exists}
	}
	ck.messageID = c.optSource(k, "message_id", k.MessageID, k.Pos)
	ck.pre = &prefetch{}
	for _, r := range k.Rules {
		if cr := c.compileRule(r, tNone); cr != nil {
			ck.rules = append(ck.rules, cr)
			switch cr.to.kind {
			case tField:
				ck.nFields++
			case tData:
				ck.nData++
			}
			for i := range cr.from {
				ck.pre.add(&cr.from[i])
			}
			if cr.tmpl != nil {
				for _, p := range cr.tmpl.parts {
					if p.src != nil {
						ck.pre.add(p.src)
					}
				}
			}
		}
	}
	for _, rf := range k.Refuse {
		cr := &crefusal{where: c.where(rf.Pos), field: rf.Field, message: rf.Message}
		if rf.When == nil {
			c.errPos(rf.Pos, "refuse needs when")
		} else {
			cr.when = c.compileCond(rf.When)
		}
		if rf.Message == "" {
			c.errPos(rf.Pos, "refuse needs message (say why, for the partner)")
		}
		ck.refuse = append(ck.refuse, cr)
	}
	return ck
}

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
		src, msg := compileSource(cd.Path)
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

// compileTarget resolves a rule's to. parent is tNone for top-level inbound
// rules, the parent's kind for each rules, tOut for renders.
func (c *compiler) compileTarget(r *Rule, parent tkind) (target, string) {
	to := r.To
	p := c.at(r, "to", r.Pos)
	if to == "" {
		c.errPos(r.Pos, "rule needs to")
		return target{}, tyAny
	}
	if c.render && parent == tNone {
		if c.format == "xml" && !xmlPathRE.MatchString(to) {
			c.errPos(p, "xml output path %q must be element names joined by '.'", to)
		} else if c.format == "text" && !dataNameRE.MatchString(to) {
			c.errPos(p, "text render variable %q must be a name (letters, digits, _)", to)
		} else if msg := validGJSONPath(to); msg != "" || strings.ContainsAny(to, "#@|*?") {
			if msg == "" {
				msg = "output paths cannot hold queries, wildcards or modifiers"
			}
			c.errPos(p, "invalid output path %q: %s", to, msg)
		}
		return target{kind: tOut, name: to}, tyAny
	}
	switch parent {
	case tTasks:
		if name, ok := strings.CutPrefix(to, "fields."); ok && fieldNameRE.MatchString(name) {
			return target{kind: tElem, name: to}, tyAny
		}
		if !contains(taskKeys, to) {
			c.errPos(p, "unknown task field %q (known: %s, fields.<name>)%s", to, strings.Join(taskKeys, ", "), hint(to, taskKeys))
		}
		return target{kind: tElem, name: to}, tyString
	case tAttachments:
		if !contains(attachmentKeys, to) {
			c.errPos(p, "unknown attachment field %q (known: %s)%s", to, strings.Join(attachmentKeys, ", "), hint(to, attachmentKeys))
		}
		if to == "size" {
			return target{kind: tElem, name: to}, tyNumber
		}
		return target{kind: tElem, name: to}, tyString
	case tField, tData, tOut:
		if to == "." {
			return target{kind: tElem, name: "."}, tyAny
		}
		if !dataNameRE.MatchString(to) {
			c.errPos(p, "element key %q must be a name (letters, digits, _)", to)
		}
		return target{kind: tElem, name: to}, tyAny
	}
	if k, ok := inboundTargets[to]; ok {
		switch k {
		case tAccepted:
			return target{kind: k}, tyBool
		case tTasks, tAttachments:
			return target{kind: k}, tyArray
		case tFlags:
			return target{kind: k}, tyAny
		}
		return target{kind: k}, tyString
	}
	if name, ok := strings.CutPrefix(to, "fields."); ok {
		if !fieldNameRE.MatchString(name) {
			c.errPos(p, "canonical field name %q must be lower_snake_case", name)
		}
		return target{kind: tField, name: name}, tyAny
	}
	if name, ok := strings.CutPrefix(to, "data."); ok {
		if !dataNameRE.MatchString(name) {
			c.errPos(p, "event data name %q must be a name (letters, digits, _)", name)
		}
		return target{kind: tData, name: name}, tyAny
	}
	c.errPos(p, "unknown canonical field %q%s", to, hint(to, inboundTargetNames))
	return target{}, tyAny
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

// normConst turns YAML-decoded numbers into float64 as JSON values are.
func normConst(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case uint64:
		return float64(x)
	case []any:
		for i := range x {
			x[i] = normConst(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = normConst(x[k])
		}
	}
	return v
}

func (c *compiler) compileRule(r *Rule, parent tkind) *crule {
	cr := &crule{pos: r.Pos, where: c.where(r.Pos), toText: r.To, required: r.Required, maxItems: r.MaxItems, expect: r.Expect}
	var want string
	cr.to, want = c.compileTarget(r, parent)
	n := 0
	cur := tyAny
	if len(r.From) > 0 {
		n++
		for _, f := range r.From {
			var src source
			var msg string
			if c.render {
				switch {
				case c.base == "*":
				case c.base != "":
					if f != "@this" {
						msg = checkCanonicalPath(c.base + ".#." + f)
					}
				default:
					msg = checkCanonicalPath(f)
				}
				src = source{root: rootItem, path: f, text: f}
			} else {
				src, msg = compileSource(f)
			}
			if msg != "" {
				c.errPos(c.at(r, "from", r.Pos), "%s", msg)
			}
			cr.from = append(cr.from, src)
		}
	}
	if _, ok := c.keys[r]["value"]; ok {
		n++
		cr.hasValue, cr.value = true, normConst(r.Value)
		cur = typeOfConst(cr.value)
	}
	if r.Template != "" {
		n++
		cr.tmpl = c.compileTemplate(r.Template, c.at(r, "template", r.Pos))
		cur = tyString
	}
	if n != 1 && r.Status == "" {
		c.errPos(r.Pos, "rule for %s needs exactly one of from, value, template", r.To)
	}
	if r.Status != "" && len(r.From) == 0 {
		c.errPos(r.Pos, "rule for %s: a status table reads from a path (from: …)", r.To)
	}
	if r.Type != "" {
		if !contains(ruleTypes, r.Type) {
			c.errPos(c.at(r, "type", r.Pos), "unknown type %q (known: %s)%s", r.Type, strings.Join(ruleTypes, ", "), hint(r.Type, ruleTypes))
		} else if cr.hasValue && !compatible(cur, r.Type) {
			c.errPos(c.at(r, "type", r.Pos), "type mismatch: value is a %s, type says %s", cur, r.Type)
		}
		cr.typ = r.Type
		cur = r.Type
		if cur == tyTime {
			cur = tyString
		}
	}
	if _, ok := c.keys[r]["default"]; ok {
		cr.hasDef, cr.def = true, normConst(r.Default)
		if dt := typeOfConst(cr.def); cur != tyAny && dt != tyNothing && !compatible(dt, cur) {
			c.errPos(c.at(r, "default", r.Pos), "type mismatch: default is a %s, the rule reads a %s", dt, cur)
		}
	}
	if r.Pattern != "" {
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			c.errPos(c.at(r, "pattern", r.Pos), "invalid pattern: %v", err)
		}
		cr.pattern = re
		if cur != tyAny && cur != tyString {
			c.errPos(c.at(r, "pattern", r.Pos), "type mismatch: pattern needs a string, the rule reads a %s", cur)
		}
	}
	if r.MaxItems != 0 && cur != tyAny && cur != tyArray {
		c.errPos(c.at(r, "max_items", r.Pos), "type mismatch: max_items needs an array, the rule reads a %s", cur)
	}
	if r.When != nil {
		cr.when = c.compileCond(r.When)
	}
	for _, t := range r.Do {
		ct, out := c.compileTransform(t, cur)
		if ct != nil {
			cr.do = append(cr.do, ct)
		}
		cur = out
	}
	if r.Status != "" {
		st, ok := c.statuses[r.Status]
		if !ok {
			c.errPos(c.at(r, "status", r.Pos), "unknown status table %q%s", r.Status, hint(r.Status, keys(c.statuses)))
		}
		if cr.to.kind != tStatus {
			c.errPos(c.at(r, "status", r.Pos), "a status table writes to status, not %s", r.To)
		}
		cr.status = st
		return cr
	}
	if len(r.Each) > 0 {
		if cur != tyAny && cur != tyArray {
			c.errPos(c.at(r, "each", r.Pos), "type mismatch: each needs an array, the rule reads a %s", cur)
		}
		switch cr.to.kind {
		case tTasks, tAttachments, tField, tData, tOut:
			cr.elemKind = cr.to.kind
		default:
			c.errPos(c.at(r, "each", r.Pos), "each builds a list; %s does not hold one", r.To)
		}
		saved := c.base
		if c.render {
			switch {
			case len(r.From) == 0 || c.base != "":
				c.base = "*" // not checked below templates, constants or nested lists
			default:
				c.base = r.From[0]
			}
		}
		for _, sub := range r.Each {
			if sc := c.compileRule(sub, cr.elemKind); sc != nil {
				cr.each = append(cr.each, sc)
			}
		}
		c.base = saved
		return cr
	}
	if (cr.to.kind == tTasks || cr.to.kind == tAttachments) && len(r.Each) == 0 {
		c.errPos(r.Pos, "%s needs each: (the rules for one element)", r.To)
	}
	c.checkCanonicalValues(r, cr)
	cr.fast = len(cr.from) > 0 && cr.when == nil && !cr.hasDef && cr.maxItems == 0 && (cr.typ == "" || cr.typ == tyString) && !c.render
	for _, t := range cr.do {
		cr.fast = cr.fast && t.str != nil
	}
	if !compatible(cur, want) {
		c.errPos(c.at(r, "to", r.Pos), "type mismatch: %s needs a %s, the rule gives a %s", r.To, want, cur)
	}
	return cr
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

// template is a compiled "text {{path}} text" template.
type template struct {
	parts []tpart
}

type tpart struct {
	lit string
	src *source
}

func (c *compiler) compileTemplate(s string, p Pos) *template {
	t := &template{}
	for {
		i := strings.Index(s, "{{")
		if i < 0 {
			if s != "" {
				t.parts = append(t.parts, tpart{lit: s})
			}
			return t
		}
		if i > 0 {
			t.parts = append(t.parts, tpart{lit: s[:i]})
		}
		j := strings.Index(s[i:], "}}")
		if j < 0 {
			c.errPos(p, "template: unclosed {{")
			return t
		}
		expr := strings.TrimSpace(s[i+2 : i+j])
		var src source
		var msg string
		if c.render {
			if v, ok := strings.CutPrefix(expr, "vars."); ok {
				src = source{root: rootVars, path: v, text: expr}
			} else {
				src, msg = source{path: expr, text: expr}, checkCanonicalPath(expr)
			}
		} else {
			src, msg = compileSource(expr)
		}
		if msg != "" {
			c.errPos(p, "template: %s", msg)
		}
		t.parts = append(t.parts, tpart{src: &src})
		s = s[i+j+2:]
	}
}

func (c *compiler) compileRender(name string, r *RenderSpec) *crender {
	cr := &crender{name: name, format: r.Format, contentType: r.ContentType, root: r.Root, ns: r.Namespace, headers: map[string]*template{}}
	switch r.Format {
	case "json":
		if cr.contentType == "" {
			cr.contentType = "application/json"
		}
	case "xml":
		if cr.contentType == "" {
			cr.contentType = "application/xml"
		}
		if r.Root == "" {
			c.errPos(r.Pos, "render %s: xml needs root", name)
		} else if !xmlPathRE.MatchString(r.Root) || strings.Contains(r.Root, ".") {
			c.errPos(c.at(r, "root", r.Pos), "render %s: root %q is not an XML element name", name, r.Root)
		}
	case "text":
		if cr.contentType == "" {
			cr.contentType = "text/plain; charset=utf-8"
		}
		if r.Body == "" {
			c.errPos(r.Pos, "render %s: text needs body", name)
		}
	default:
		c.errPos(c.at(r, "format", r.Pos), "render %s: unknown format %q (known: json, xml, text)%s", name, r.Format, hint(r.Format, []string{"json", "xml", "text"}))
	}
	c.format = r.Format
	if r.Subject != "" {
		cr.subject = c.compileTemplate(r.Subject, c.at(r, "subject", r.Pos))
	}
	if r.Body != "" {
		cr.body = c.compileTemplate(r.Body, c.at(r, "body", r.Pos))
	}
	for k, v := range r.Headers {
		cr.headers[k] = c.compileTemplate(v, c.at(r, "headers", r.Pos))
	}
	for _, rule := range r.Rules {
		if x := c.compileRule(rule, tNone); x != nil {
			cr.rules = append(cr.rules, x)
		}
	}
	return cr
}

// ctransform is a compiled transform.
type ctransform struct {
	name string
	in   []string
	// str, when set, is the string -> string form of fn (the allocation-free fast path).
	str func(e *env, r *crule, s string) (string, error)
	fn  func(e *env, r *crule, v any) (any, error)
}

type tdef struct {
	in  []string // accepted input types; nil: any
	out string   // "" keeps the input type
	arg string   // "", "int", "string", "object", "string|object"
}

var transforms = map[string]tdef{
	"trim":              {in: []string{tyString}},
	"upper":             {in: []string{tyString}},
	"lower":             {in: []string{tyString}},
	"truncate":          {in: []string{tyString}, arg: "int"},
	"default":           {arg: "any"},
	"map":               {in: []string{tyString}, out: tyString, arg: "string"},
	"unmap":             {in: []string{tyString}, out: tyString, arg: "string"},
	"time":              {in: []string{tyString}, out: tyString, arg: "string|object"},
	"epoch":             {in: []string{tyNumber}, out: tyString, arg: "string"},
	"format_time":       {in: []string{tyString}, out: tyString, arg: "string|object"},
	"to_string":         {out: tyString},
	"to_number":         {in: []string{tyString, tyNumber}, out: tyNumber},
	"split":             {in: []string{tyString}, out: tyArray, arg: "string"},
	"join":              {in: []string{tyArray}, out: tyString, arg: "string"},
	"first":             {in: []string{tyArray}, out: tyAny},
	"humanize_duration": {in: []string{tyNumber}, out: tyString},
	"prefix":            {in: []string{tyString}, arg: "string"},
	"strip_lines":       {in: []string{tyString}, arg: "string"},
	"pluck":             {in: []string{tyObject, tyArray}, arg: "string"},
}

func (c *compiler) compileTransform(t Transform, cur string) (*ctransform, string) {
	def, ok := transforms[t.Name]
	if !ok {
		c.errPos(t.Pos, "unknown transform %q%s", t.Name, hint(t.Name, keys(transforms)))
		return nil, tyAny
	}
	if def.in != nil && cur != tyAny && !containsCompat(def.in, cur) {
		c.errPos(t.Pos, "type mismatch: %s needs a %s, got a %s", t.Name, strings.Join(def.in, " or "), cur)
	}
	out := def.out
	if out == "" {
		out = cur
	}
	argStr, isStr := t.Arg.(string)
	argMap, isMap := t.Arg.(map[string]any)
	switch def.arg {
	case "":
		if t.Arg != nil {
			c.errPos(t.Pos, "%s takes no argument", t.Name)
		}
	case "int":
		if _, ok := t.Arg.(int); !ok {
			c.errPos(t.Pos, "%s needs a whole number, e.g. {%s: 160}", t.Name, t.Name)
			return nil, out
		}
	case "string":
		if !isStr {
			c.errPos(t.Pos, "%s needs a string argument", t.Name)
			return nil, out
		}
	case "string|object":
		if !isStr && !isMap {
			c.errPos(t.Pos, "%s needs a layout or {layout, zone, format}", t.Name)
			return nil, out
		}
	}
	ct := &ctransform{name: t.Name, in: def.in}
	switch t.Name {
	case "trim":
		ct.str = func(_ *env, _ *crule, s string) (string, error) { return strings.TrimSpace(s), nil }
	case "upper":
		ct.str = func(_ *env, _ *crule, s string) (string, error) { return strings.ToUpper(s), nil }
	case "lower":
		ct.str = func(_ *env, _ *crule, s string) (string, error) { return strings.ToLower(s), nil }
	case "pluck":
		ct.fn = func(_ *env, _ *crule, v any) (any, error) {
			res, ok := v.(gjson.Result)
			if !ok {
				return v, nil
			}
			if res.IsArray() {
				out := []any{}
				for _, el := range res.Array() {
					out = append(out, el.Get(argStr).Value())
				}
				return out, nil
			}
			out := map[string]any{}
			res.ForEach(func(k, el gjson.Result) bool {
				out[k.String()] = el.Get(argStr).Value()
				return true
			})
			return out, nil
		}
	case "strip_lines":
		re, err := regexp.Compile(argStr)
		if err != nil {
			c.errPos(t.Pos, "strip_lines: invalid regexp: %v", err)
			return nil, out
		}
		ct.str = func(_ *env, _ *crule, v string) (string, error) {
			lines := strings.Split(v, "\n")
			kept := lines[:0]
			for _, l := range lines {
				if !re.MatchString(l) {
					kept = append(kept, l)
				}
			}
			return strings.Join(kept, "\n"), nil
		}
	case "prefix":
		ct.str = func(_ *env, _ *crule, s string) (string, error) { return argStr + s, nil }
	case "truncate":
		n := t.Arg.(int)
		if n <= 0 {
			c.errPos(t.Pos, "truncate needs a positive length")
		}
		ct.str = func(e *env, r *crule, s string) (string, error) {
			if utf8Len(s) <= n {
				return s, nil
			}
			e.warn(fmt.Sprintf("%s: truncated from %d to %d characters (%s)", e.pathOf(r), utf8Len(s), n, r.where))
			return truncateRunes(s, n), nil
		}
	case "default":
		d := normConst(t.Arg)
		ct.fn = func(_ *env, _ *crule, v any) (any, error) {
			if v == nil || v == "" {
				return d, nil
			}
			return v, nil
		}
	case "map", "unmap":
		cm, ok := c.maps[argStr]
		if !ok {
			c.errPos(t.Pos, "unknown map %q%s", argStr, hint(argStr, keys(c.maps)))
			return nil, out
		}
		rev := t.Name == "unmap"
		ct.str = func(_ *env, _ *crule, s string) (string, error) {
			var r string
			var ok bool
			if rev {
				r, ok = cm.rev[s]
			} else {
				key := s
				if cm.ignoreCase {
					key = strings.ToLower(s)
				}
				r, ok = cm.fwd[key]
			}
			if ok {
				return r, nil
			}
			if cm.def != nil {
				return *cm.def, nil
			}
			known := cm.known
			if rev {
				known = keys(cm.rev)
			}
			return "", fmt.Errorf("value %q is not in map %s (known: %s)", s, cm.name, strings.Join(known, ", "))
		}
	case "time", "format_time":
		layouts, zone, format := []string{argStr}, time.UTC, time.RFC3339
		if isMap {
			layouts = nil
			for k, v := range argMap {
				switch k {
				case "layout":
					s, _ := v.(string)
					layouts = append(layouts, s)
				case "layouts":
					l, _ := v.([]any)
					for _, x := range l {
						s, _ := x.(string)
						layouts = append(layouts, s)
					}
				case "zone":
					s, _ := v.(string)
					loc, err := time.LoadLocation(s)
					if err != nil {
						c.errPos(t.Pos, "%s: unknown zone %q", t.Name, s)
					} else {
						zone = loc
					}
				case "format":
					s, _ := v.(string)
					format = s
				default:
					c.errPos(t.Pos, "%s: unknown key %q (known: layout, layouts, zone, format)%s", t.Name, k, hint(k, []string{"layout", "layouts", "zone", "format"}))
				}
			}
		}
		for i, l := range layouts {
			layouts[i] = namedLayout(l)
		}
		format = namedLayout(format)
		if t.Name == "format_time" {
			// format_time reads RFC 3339 and writes layout (the string argument) in zone.
			if isStr {
				format = namedLayout(argStr)
			} else if len(layouts) > 0 {
				format = layouts[0]
			}
			ct.str = func(_ *env, _ *crule, v string) (string, error) {
				tm, err := time.Parse(time.RFC3339Nano, v)
				if err != nil {
					return "", fmt.Errorf("%q is not an RFC 3339 time", v)
				}
				return tm.In(zone).Format(format), nil
			}
			break
		}
		if len(layouts) == 0 || layouts[0] == "" {
			c.errPos(t.Pos, "time needs a layout")
		}
		ct.str = func(_ *env, _ *crule, v string) (string, error) {
			s := strings.TrimSpace(v)
			for _, l := range layouts {
				if tm, err := parseTime(l, s, zone); err == nil {
					return tm.UTC().Format(format), nil
				}
			}
			return "", fmt.Errorf("%q does not match the layout %q", s, layouts[0])
		}
	case "epoch":
		switch argStr {
		case "s", "ms", "auto":
		default:
			c.errPos(t.Pos, "epoch takes s, ms or auto, got %q", argStr)
		}
		ct.fn = func(_ *env, _ *crule, v any) (any, error) { return epochString(v.(float64), argStr), nil }
	case "to_string":
		ct.fn = func(_ *env, _ *crule, v any) (any, error) { return toString(v), nil }
		ct.str = func(_ *env, _ *crule, s string) (string, error) { return s, nil }
	case "to_number":
		ct.fn = func(_ *env, _ *crule, v any) (any, error) {
			switch x := v.(type) {
			case float64:
				return x, nil
			case string:
				f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
				if err != nil {
					return nil, fmt.Errorf("%q is not a number", x)
				}
				return f, nil
			}
			return nil, fmt.Errorf("%v is not a number", v)
		}
	case "split":
		ct.fn = func(_ *env, _ *crule, v any) (any, error) {
			parts := strings.Split(v.(string), argStr)
			out := make([]any, 0, len(parts))
			for _, p := range parts {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
			return out, nil
		}
	case "join":
		ct.fn = func(_ *env, _ *crule, v any) (any, error) {
			arr := asArray(v)
			s := make([]string, len(arr))
			for i, x := range arr {
				s[i] = toString(x)
			}
			return strings.Join(s, argStr), nil
		}
	case "first":
		ct.fn = func(_ *env, _ *crule, v any) (any, error) {
			if arr := asArray(v); len(arr) > 0 {
				return arr[0], nil
			}
			return nil, nil
		}
	case "humanize_duration":
		ct.fn = func(_ *env, _ *crule, v any) (any, error) { return humanize(v.(float64)), nil }
	}
	if ct.str != nil && ct.fn == nil {
		str := ct.str
		ct.fn = func(e *env, r *crule, v any) (any, error) {
			s, err := str(e, r, v.(string))
			if err != nil {
				return nil, err
			}
			return s, nil
		}
	}
	return ct, out
}

func containsCompat(list []string, t string) bool {
	for _, x := range list {
		if compatible(t, x) && !(x == tyString && t == tyNumber) {
			return true
		}
	}
	return false
}

func namedLayout(l string) string {
	switch strings.ToLower(l) {
	case "rfc3339":
		return time.RFC3339
	case "rfc3339nano":
		return time.RFC3339Nano
	case "rfc1123z":
		return time.RFC1123Z
	case "date":
		return time.DateOnly
	case "datetime":
		return time.DateTime
	}
	return l
}

// parseTime parses s with layout in zone; offsets written with one digit
// ("+0", "-5", as Pruvan sends them) are accepted where the layout has -07.
func parseTime(layout, s string, zone *time.Location) (time.Time, error) {
	if strings.HasSuffix(layout, "-07") && shortOffset(s) {
		s = s[:len(s)-1] + "0" + s[len(s)-1:]
	}
	return time.ParseInLocation(layout, s, zone)
}

// shortOffset reports whether s ends with a one-digit zone offset such as "+0" or "-5".
func shortOffset(s string) bool {
	n := len(s)
	return n >= 3 && s[n-1] >= '0' && s[n-1] <= '9' && (s[n-2] == '+' || s[n-2] == '-') && s[n-3] == ' '
}

func epochString(f float64, unit string) string {
	var tm time.Time
	switch {
	case unit == "ms" || unit == "auto" && math.Abs(f) >= 1e11:
		tm = time.UnixMilli(int64(f))
	default:
		sec, frac := math.Modf(f)
		tm = time.Unix(int64(sec), int64(frac*1e9))
	}
	return tm.UTC().Format(time.RFC3339Nano)
}

func humanize(sec float64) string {
	d := time.Duration(sec) * time.Second
	if d <= 0 {
		return "0 minutes"
	}
	h := int(d.Hours())
	m := int(d.Minutes()) % 60
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.Itoa(n) + " " + unit + "s"
	}
	switch {
	case h > 0 && m > 0:
		return plural(h, "hour") + " " + plural(m, "minute")
	case h > 0:
		return plural(h, "hour")
	}
	return plural(max(m, 1), "minute")
}

func utf8Len(s string) int {
	n := 0
	for range s {
		n++
	}
	return n
}

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
