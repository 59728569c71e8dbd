package mappings

import (
	"fmt"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/equus/sogateway/internal/model"
	"github.com/tidwall/gjson"
)

// env is the state of one translation or render.
type env struct {
	m        *Mapping
	in       *Input
	bodyRes  gjson.Result
	settings map[string]string
	index    int
	prefix   string
	inb      *model.Inbound
	client   string
	trace    *[]Trace
	// field prefixes canonical field names inside an each list: "tasks.0."
	field    string
	lastPath string
	render   bool
	vars     map[string]any
	out      *outDoc
	slots    []gjson.Result // prefetched values of the current kind's top-level sources
	input    Input          // Translate's copy of its Input (e.in points here: one allocation)
	single   [1]Item        // the Items of an unsplit message
}

func (e *env) warn(s string) {
	if e.inb != nil {
		e.inb.Warnings = append(e.inb.Warnings, s)
	}
}

func (e *env) pathOf(r *crule) string { return e.lastPath }

// fieldName is the rule's canonical field with its place in an each list
// ("tasks.0.name"; the element itself for to: ".").
func (e *env) fieldName(r *crule) string {
	if r.toText == "." && e.field != "" {
		return strings.TrimSuffix(e.field, ".")
	}
	return e.field + r.toText
}

func (e *env) fail(r *crule, kind error, format string, a ...any) *RuleError {
	return &RuleError{Rule: r.where, Path: e.lastPath, Field: e.fieldName(r), Msg: fmt.Sprintf(format, a...), Kind: kind}
}

func strResult(s string) gjson.Result {
	return gjson.Result{Type: gjson.String, Str: s, Raw: strconv.Quote(s)}
}

// get reads a source relative to ctx.
func (e *env) get(s *source, ctx gjson.Result) gjson.Result {
	switch s.root {
	case rootItem:
		if s.slot > 0 && s.slot <= len(e.slots) {
			return e.slots[s.slot-1]
		}
		return ctx.Get(s.path)
	case rootBody:
		return e.bodyRes.Get(s.path)
	case rootHeaders:
		if v, ok := e.in.Headers[s.path]; ok {
			return strResult(v)
		}
		for k, v := range e.in.Headers {
			if textproto.CanonicalMIMEHeaderKey(k) == s.path {
				return strResult(v)
			}
		}
	case rootParams:
		if v, ok := e.in.Params[s.path]; ok {
			return strResult(v)
		}
	case rootSettings:
		if v, ok := e.settings[s.path]; ok {
			return strResult(v)
		}
	case rootMeta:
		switch s.path {
		case "protocol":
			return strResult(string(e.in.Protocol))
		case "route":
			return strResult(e.in.Route)
		case "operation":
			return strResult(e.operation())
		case "partner":
			return strResult(e.m.name)
		case "index":
			return gjson.Result{Type: gjson.Number, Num: float64(e.index), Raw: strconv.Itoa(e.index)}
		}
	case rootVars:
		if v, ok := e.vars[s.path]; ok {
			return gjson.Parse(mustJSON(v))
		}
	}
	return gjson.Result{}
}

func (e *env) operation() string {
	if e.in.Operation != "" {
		return e.in.Operation
	}
	return e.bodyRes.Get("operation").String()
}

func (e *env) relPath(s *source) string {
	switch s.root {
	case rootItem:
		if s.path == "@this" {
			return strings.TrimSuffix(e.prefix, ".")
		}
		return e.prefix + s.path
	}
	return s.text
}

// value reads and checks a rule's input. ok is false when the rule does not apply.
func (e *env) value(r *crule, ctx gjson.Result) (any, bool, error) {
	var v any
	switch {
	case r.hasValue:
		v = r.value
		e.lastPath = ""
	case r.tmpl != nil:
		v = e.exec(r.tmpl, ctx)
		e.lastPath = ""
	default:
		var res gjson.Result
		e.lastPath = ""
		for i := range r.from {
			res = e.get(&r.from[i], ctx)
			if present(res) {
				e.lastPath = e.relPath(&r.from[i])
				break
			}
		}
		if e.lastPath == "" && len(r.from) > 0 {
			e.lastPath = e.relPath(&r.from[0])
		}
		if !present(res) {
			if r.status != nil {
				return nil, true, nil
			}
			if r.hasDef {
				return r.def, true, nil
			}
			if r.required {
				return nil, false, e.fail(r, model.ErrInvalid, "is required")
			}
			return nil, false, nil
		}
		if r.typ != "" {
			if err := checkType(r.typ, res); err != "" {
				return nil, false, e.fail(r, model.ErrInvalid, "%s", err)
			}
		}
		switch res.Type {
		case gjson.String:
			v = res.Str
			if r.typ == tyTime {
				tm, err := time.Parse(time.RFC3339Nano, res.Str)
				if err != nil {
					return nil, false, e.fail(r, model.ErrInvalid, "must be a timestamp (epoch number or RFC 3339), got %q", res.Str)
				}
				v = tm.UTC().Format(time.RFC3339Nano)
			}
		case gjson.Number:
			v = res.Num
			if r.typ == tyTime {
				v = epochString(res.Num, "auto")
			}
		case gjson.True:
			v = true
		case gjson.False:
			v = false
		default:
			v = res
		}
	}
	if r.required {
		switch x := v.(type) {
		case string:
			if strings.TrimSpace(x) == "" {
				return nil, false, e.fail(r, model.ErrInvalid, "must not be empty")
			}
		case gjson.Result:
			if x.IsArray() && len(x.Array()) == 0 {
				return nil, false, e.fail(r, model.ErrInvalid, "must not be empty")
			}
		}
	}
	if r.pattern != nil {
		s, ok := v.(string)
		if !ok {
			return nil, false, e.fail(r, model.ErrInvalid, "must be a string")
		}
		if !r.pattern.MatchString(s) {
			if r.expect != "" {
				return nil, false, e.fail(r, model.ErrInvalid, "must be %s, got %q", r.expect, s)
			}
			return nil, false, e.fail(r, model.ErrInvalid, "%q does not match %s", s, r.pattern)
		}
	}
	if r.maxItems > 0 {
		if n := len(asArray(v)); n > r.maxItems {
			return nil, false, e.fail(r, model.ErrInvalid, "has %d items, at most %d are allowed", n, r.maxItems)
		}
	}
	return v, true, nil
}

func checkType(typ string, r gjson.Result) string {
	ok := false
	switch typ {
	case tyString:
		ok = r.Type == gjson.String
	case tyNumber:
		ok = r.Type == gjson.Number
	case tyBool:
		ok = r.Type == gjson.True || r.Type == gjson.False
	case tyArray:
		ok = r.IsArray()
	case tyObject:
		ok = r.IsObject()
	case tyTime:
		ok = r.Type == gjson.Number || r.Type == gjson.String
	}
	if ok {
		return ""
	}
	if typ == tyTime {
		return "must be a timestamp (epoch number or RFC 3339), got " + jsonKind(r)
	}
	return "must be " + article(typ) + ", got " + jsonKind(r)
}

func article(t string) string {
	switch t {
	case tyArray, tyObject:
		return "an " + t
	}
	return "a " + t
}

func jsonKind(r gjson.Result) string {
	switch r.Type {
	case gjson.String:
		return "a string"
	case gjson.Number:
		return "a number"
	case gjson.True, gjson.False:
		return "a boolean"
	case gjson.Null:
		return "null"
	}
	if r.IsArray() {
		return "an array"
	}
	return "an object"
}

// run applies one rule; elem, when non-nil, is the each element being built.
func (e *env) run(r *crule, ctx gjson.Result, elem *omap) error {
	if r.fast && elem == nil && e.trace == nil {
		if done, err := e.runFast(r, ctx); done {
			return err
		}
	}
	if r.renderFast && elem == nil && e.trace == nil && e.out.tree != nil {
		if done, err := e.runRenderFast(r, ctx); done {
			return err
		}
	}
	if r.when != nil && !e.eval(r.when, ctx) {
		return nil
	}
	v, ok, err := e.value(r, ctx)
	if err != nil || !ok {
		return err
	}
	for _, t := range r.do {
		if v == nil && t.name != "default" {
			break
		}
		if t.in != nil && !runtimeTypeOK(t.in, v) {
			return e.fail(r, model.ErrInvalid, "%s needs %s, got %s", t.name, article(t.in[0]), runtimeType(v))
		}
		if v, err = t.fn(e, r, v); err != nil {
			return e.fail(r, model.ErrInvalid, "%v", err)
		}
	}
	if r.status != nil {
		return e.applyStatus(r, v, ctx)
	}
	if r.each != nil {
		base := e.lastPath
		arr := asResults(v)
		list := make([]*omap, 0, len(arr))
		for i, el := range arr {
			om := &omap{}
			savedPrefix, savedField := e.prefix, e.field
			e.prefix = base + "." + strconv.Itoa(i) + "."
			e.field = savedField + r.toText + "." + strconv.Itoa(i) + "."
			for _, sub := range r.each {
				if err := e.run(sub, el, om); err != nil {
					e.prefix, e.field = savedPrefix, savedField
					return err
				}
			}
			e.prefix, e.field = savedPrefix, savedField
			list = append(list, om)
		}
		v = list
		e.lastPath = base
	}
	if v == nil && !(r.hasValue || e.render && r.hasDef) {
		return nil
	}
	if e.trace != nil {
		*e.trace = append(*e.trace, Trace{Field: e.fieldName(r), Rule: r.where, From: e.lastPath, Value: plain(v)})
	}
	if elem != nil {
		elem.set(r.to.name, v)
		return nil
	}
	return e.set(r, v)
}

func (e *env) applyStatus(r *crule, v any, ctx gjson.Result) error {
	st := r.status
	var row *cstatusRow
	p := &e.inb.Patch
	if v == nil {
		row = st.unset
		if row == nil {
			return nil
		}
	} else {
		s := toString(v)
		key := s
		if st.ignoreCase {
			key = strings.ToLower(s)
		}
		var ok bool
		if row, ok = st.rows[key]; !ok {
			return e.fail(r, model.ErrInvalid, "unknown status %q (known: %s)", s, strings.Join(st.known, ", "))
		}
		p.PartnerStatus = &s
	}
	if row.refuse != "" {
		return e.fail(r, model.ErrRefused, "%s", row.refuse)
	}
	if row.when != nil && !e.eval(row.when, ctx) {
		return e.fail(r, model.ErrRefused, "%s", row.otherwise)
	}
	if row.status != nil {
		s := *row.status
		p.Status = &s
	}
	p.AddFlags = append(p.AddFlags, row.flags...)
	p.RemoveFlags = append(p.RemoveFlags, row.removeFlags...)
	if row.clientStatus != "" {
		e.client = row.clientStatus
	}
	if e.trace != nil {
		*e.trace = append(*e.trace, Trace{Field: "status", Rule: r.where, From: e.lastPath, Value: map[string]any{"row": row.partner, "status": row.status, "flags": row.flags, "client_status": row.clientStatus}})
	}
	return nil
}

func (e *env) set(r *crule, v any) error {
	if e.render {
		return e.setOut(r, v)
	}
	inb := e.inb
	p := &inb.Patch
	str := func() string { return toString(v) }
	switch r.to.kind {
	case tRefsRequestor:
		p.Refs.Requestor = str()
	case tRefsServicer:
		p.Refs.Servicer = str()
	case tCompany:
		s := str()
		p.Company = &s
	case tServiceType:
		s := str()
		p.ServiceType = &s
	case tStatus:
		s := model.Status(str())
		if !s.Valid() {
			return e.fail(r, model.ErrInvalid, "%q is not a canonical status", s)
		}
		p.Status = &s
	case tFlags:
		list := asArray(v)
		if s, ok := v.(string); ok {
			list = []any{s}
		}
		for _, f := range list {
			fl := model.Flag(toString(f))
			if fl != model.FlagRush && fl != model.FlagRework {
				return e.fail(r, model.ErrInvalid, "%q is not a flag (rush, rework)", fl)
			}
			p.AddFlags = append(p.AddFlags, fl)
		}
	case tPartnerStatus:
		s := str()
		p.PartnerStatus = &s
	case tClientStatus:
		s := str()
		p.ClientStatus = &s
	case tField:
		if p.Fields == nil {
			p.Fields = make(map[string]any, 8)
		}
		p.Fields[r.to.name] = plain(v)
	case tData:
		if inb.Data == nil {
			inb.Data = make(map[string]any, 8)
		}
		inb.Data[r.to.name] = plain(v)
	case tTasks:
		list, _ := v.([]*omap)
		tasks := make([]model.Task, 0, len(list))
		for _, om := range list {
			var t model.Task
			for i, k := range om.k {
				val := om.v[i]
				switch k {
				case "id":
					t.ID = toString(val)
				case "name":
					t.Name = toString(val)
				case "status":
					t.Status = toString(val)
				case "instructions":
					t.Instructions = toString(val)
				default:
					if t.Fields == nil {
						t.Fields = map[string]any{}
					}
					t.Fields[strings.TrimPrefix(k, "fields.")] = plain(val)
				}
			}
			tasks = append(tasks, t)
		}
		p.Tasks = tasks
	case tAttachments:
		list, _ := v.([]*omap)
		for _, om := range list {
			var a model.Attachment
			for i, k := range om.k {
				val := om.v[i]
				switch k {
				case "name":
					a.Name = toString(val)
				case "content_type":
					a.ContentType = toString(val)
				case "size":
					f, _ := val.(float64)
					a.Size = int64(f)
				case "sha256":
					a.SHA256 = toString(val)
				case "url":
					a.URL = toString(val)
				case "stored_at":
					a.StoredAt = toString(val)
				}
			}
			p.Attachments = append(p.Attachments, a)
		}
	case tMessage:
		p.Messages = append(p.Messages, model.Message{Direction: model.DirectionIn, Author: e.m.name, Text: str(), Protocol: inb.Protocol})
	case tTargetOrderID:
		inb.Target.OrderID = str()
	case tTargetRequestor:
		inb.Target.Requestor = str()
	case tTargetServicer:
		inb.Target.Servicer = str()
	case tAccepted:
		b, ok := v.(bool)
		if !ok {
			return e.fail(r, model.ErrInvalid, "must be a boolean, got %s", article(runtimeType(v)))
		}
		p.Accepted = &b
	}
	return nil
}

func (e *env) exec(t *template, ctx gjson.Result) string {
	if len(t.parts) == 1 && t.parts[0].src == nil {
		return t.parts[0].lit
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.src == nil {
			b.WriteString(p.lit)
			continue
		}
		r := e.get(p.src, ctx)
		if present(r) {
			b.WriteString(r.String())
		}
	}
	return b.String()
}

// runFast applies a string-only rule (one or more paths, string
// transforms, a top-level target) without boxing intermediate values. It
// reports done=false when the input is not a string, so that run takes the
// general path and reports it the same way.
func (e *env) runFast(r *crule, ctx gjson.Result) (bool, error) {
	var res gjson.Result
	var src *source
	for i := range r.from {
		res = e.get(&r.from[i], ctx)
		if present(res) {
			src = &r.from[i]
			break
		}
	}
	if src == nil || res.Type != gjson.String {
		return false, nil
	}
	e.lastPath = e.relPath(src)
	s := res.Str
	if r.required && strings.TrimSpace(s) == "" {
		return true, e.fail(r, model.ErrInvalid, "must not be empty")
	}
	if r.pattern != nil && !r.pattern.MatchString(s) {
		if r.expect != "" {
			return true, e.fail(r, model.ErrInvalid, "must be %s, got %q", r.expect, s)
		}
		return true, e.fail(r, model.ErrInvalid, "%q does not match %s", s, r.pattern)
	}
	var err error
	for _, t := range r.do {
		if s, err = t.str(e, r, s); err != nil {
			return true, e.fail(r, model.ErrInvalid, "%v", err)
		}
	}
	p := &e.inb.Patch
	switch r.to.kind {
	case tRefsRequestor:
		p.Refs.Requestor = s
	case tRefsServicer:
		p.Refs.Servicer = s
	case tTargetOrderID:
		e.inb.Target.OrderID = s
	case tTargetRequestor:
		e.inb.Target.Requestor = s
	case tTargetServicer:
		e.inb.Target.Servicer = s
	default:
		if r.status != nil {
			return true, e.applyStatus(r, s, ctx)
		}
		return true, e.set(r, s)
	}
	return true, nil
}

// escapePath escapes the characters gjson and sjson read as path syntax.
func escapePath(s string) string {
	return strings.NewReplacer(".", `\.`, "*", `\*`, "?", `\?`, "|", `\|`, "#", `\#`, "@", `\@`).Replace(s)
}
