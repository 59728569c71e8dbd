package mappings

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/equus/sogateway/internal/model"
)

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
	for _, msg := range checkEvents(s.Events) {
		c.errPos(c.at(s, "events", top), "%s", msg)
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

// compileSource compiles an inbound input path (compileSource) and checks
// that a $settings path names a declared setting.
func (c *compiler) compileSource(p string) (source, string) {
	src, msg := compileSource(p)
	if msg == "" && src.root == rootSettings {
		name, _, _ := strings.Cut(src.path, ".")
		if _, ok := c.spec.Settings[name]; !ok {
			msg = fmt.Sprintf("$settings.%s is not declared under settings%s", name, hint(name, keys(c.spec.Settings)))
		}
	}
	return src, msg
}

func (c *compiler) optSource(s any, key, p string, def Pos) *source {
	if p == "" {
		return nil
	}
	src, msg := c.compileSource(p)
	if msg != "" {
		c.errPos(c.at(s, key, def), "%s: %s", key, msg)
		return nil
	}
	return &src
}

func (c *compiler) compileMap(name string, vm *ValueMap) *cmap {
	cm := &cmap{name: name, fwd: map[string]string{}, rev: map[string]string{}, ignoreCase: vm.IgnoreCase, def: vm.Default}
	if len(vm.Values) == 0 {
		c.errPos(vm.Pos, "map %s has no values (declare values: {partner value: canonical value, …})", name)
	}
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
		for _, f := range r.RemoveFlags {
			if f != string(model.FlagRush) && f != string(model.FlagRework) {
				c.errPos(c.at(r, "remove_flags", r.Pos), "status table %s: unknown flag %q (known: rush, rework)%s", name, f, hint(f, []string{"rush", "rework"}))
			}
			cr.removeFlags = append(cr.removeFlags, model.Flag(f))
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
		ck.require = model.Require{ServiceTypes: k.Require.ServiceTypes, Accepted: k.Require.Accepted, Open: k.Require.Open, Exists: k.Require.Exists,
			NotDeleted: k.Require.NotDeleted, Missing: k.Require.Missing}
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
	if k.Unmapped != "" {
		name, ok := strings.CutPrefix(k.Unmapped, "data.")
		if !ok || name == "" || strings.ContainsAny(name, ".[]*?#|@") {
			c.errPos(c.at(k, "unmapped", k.Pos), "kind %s: unmapped must be a data member such as data.extra, got %q", k.Kind, k.Unmapped)
		}
		ck.unmapped = name
		ck.read = map[string]bool{}
		for _, cr := range ck.rules {
			readNames(cr, ck.read)
		}
		if ck.messageID != nil {
			addRead(ck.messageID, ck.read)
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

// readNames adds the top-level input members rule r reads to read.
func readNames(r *crule, read map[string]bool) {
	for i := range r.from {
		addRead(&r.from[i], read)
	}
	if r.tmpl != nil {
		for _, p := range r.tmpl.parts {
			if p.src != nil {
				addRead(p.src, read)
			}
		}
	}
}

// addRead adds the first member of an element path to read.
func addRead(s *source, read map[string]bool) {
	if s.root != rootItem || s.path == "" || s.path[0] == '@' {
		return
	}
	var b strings.Builder
	for i := 0; i < len(s.path); i++ {
		ch := s.path[i]
		if ch == '\\' && i+1 < len(s.path) {
			i++
			b.WriteByte(s.path[i])
			continue
		}
		if strings.IndexByte(".|#*?", ch) >= 0 {
			break
		}
		b.WriteByte(ch)
	}
	read[b.String()] = true
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
			src, msg = c.compileSource(expr)
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
			if r.Format == "json" && x.to.kind == tOut {
				x.out = outParts(x.to.name)
				cr.outNodes += len(x.out)
				x.renderFast = x.out != nil && len(x.from) > 0 && !x.hasValue && x.tmpl == nil && x.when == nil &&
					x.each == nil && x.status == nil && len(x.do) == 0 && x.pattern == nil && x.maxItems == 0 &&
					(x.typ == "" || x.typ == tyString)
			}
			cr.rules = append(cr.rules, x)
		}
	}
	cr.needs = renderNeeds(cr)
	return cr
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
