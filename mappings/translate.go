package mappings

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/equus/sogateway/internal/model"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Input is one partner message as the protocol layer hands it over. Body is
// a JSON document (see docs/architecture.md, "the inbound path").
type Input struct {
	Protocol  model.Protocol
	Route     string // the route's name or path, as declared in Spec.Routes
	Operation string // the SOAP operation
	Headers   map[string]string
	Params    map[string]string // route parameters (e.g. id)
	Body      []byte
	// Settings are this installation's partner options; undeclared ones use the mapping's defaults.
	Settings map[string]string
	// Explain records in Item.Trace which rule produced each canonical value.
	Explain bool
}

// Batch is the result of translating one message: one Item per element of
// a split message, else exactly one Item.
type Batch struct {
	Items []Item
	// Split says the message was a batch split into Items (the mapping's
	// split path), even when it held one element.
	Split bool
}

// Item is one translated element. Exactly one of Inbound and Err is set.
type Item struct {
	Index int
	// Key is the element's key (the mapping's key path, e.g. workOrderNumber), if any.
	Key string
	// Kind is the message kind that matched ("" when none did).
	Kind    string
	Inbound *model.Inbound
	// Err is a *RuleError naming the rule, the input path and the field.
	Err error
	// Trace lists which rule produced each canonical value (Input.Explain only).
	Trace []Trace
}

// Trace says which rule produced a canonical value.
type Trace struct {
	Field string `json:"field"`
	Rule  string `json:"rule"`
	From  string `json:"from,omitempty"`
	Value any    `json:"value"`
}

// ErrUnknownRender is returned by Render for a render name the mapping does not declare.
var ErrUnknownRender = errors.New("unknown render")

// RuleError is a runtime failure of a rule: it names the rule (file:line),
// the input path and the canonical field. It wraps model.ErrInvalid (bad
// input) or model.ErrRefused (a declared business rule refused the message).
type RuleError struct {
	// Rule is "file:line" of the rule in the mapping.
	Rule string
	// Path is the input path read, e.g. workOrders.0.zip.
	Path string
	// Field is the canonical field (the rule's to).
	Field string
	Msg   string
	Kind  error
}

// Error returns "path: message (rule file:line, field name)".
func (e *RuleError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Rule == "" {
		// No rule is at fault (e.g. a message no kind matches).
		return b.String()
	}
	b.WriteString(" (rule ")
	b.WriteString(e.Rule)
	if e.Field != "" {
		b.WriteString(", field ")
		b.WriteString(e.Field)
	}
	b.WriteString(")")
	return b.String()
}

// Unwrap returns model.ErrInvalid or model.ErrRefused.
func (e *RuleError) Unwrap() error { return e.Kind }

// Translate runs the inbound rules on one message. It fails as a whole only
// when the message cannot be read (not JSON, bad settings, split path not an
// array); otherwise every Item succeeds or fails on its own.
func (m *Mapping) Translate(in Input) (*Batch, error) {
	if !gjson.ValidBytes(in.Body) {
		return nil, fmt.Errorf("mappings: %s: %w", m.name, &RuleError{Msg: "the body is not valid JSON", Kind: model.ErrInvalid})
	}
	if in.Protocol == "" && len(m.spec.Protocols) > 0 && m.spec.Protocols[0] != "outbound" {
		in.Protocol = model.Protocol(m.spec.Protocols[0])
	}
	body := string(in.Body)
	for _, u := range m.unwrap {
		if r := gjson.Get(body, u); r.Type == gjson.String {
			inner := strings.TrimSpace(r.Str)
			if (strings.HasPrefix(inner, "{") || strings.HasPrefix(inner, "[")) && gjson.Valid(inner) {
				var err error
				if body, err = sjson.SetRaw(body, u, inner); err != nil {
					return nil, fmt.Errorf("mappings: %s: %w", m.name, &RuleError{Path: u, Msg: "holds JSON that cannot be read", Kind: model.ErrInvalid})
				}
			}
		}
	}
	// A mail without the action tag takes the mapping's default action; the
	// mail intake, the fixtures and the CLI all reach this one place.
	if ms := m.spec.Mail; in.Protocol == model.ProtocolEmail && ms != nil && ms.ActionTag != "" && ms.DefaultAction != "" {
		path := "tags." + escapePath(ms.ActionTag)
		if gjson.Get(body, path).String() == "" {
			if b, err := sjson.Set(body, path, ms.DefaultAction); err == nil {
				body = b
			}
		}
	}
	e := &env{m: m, input: in, bodyRes: gjson.Parse(body)}
	e.in = &e.input
	e.settings = m.settings
	if len(in.Settings) > 0 {
		e.settings = make(map[string]string, len(m.settings)+len(in.Settings))
		for k, v := range m.settings {
			e.settings[k] = v
		}
		for k, v := range in.Settings {
			if st, ok := m.spec.Settings[k]; ok && len(st.Values) > 0 && !contains(st.Values, v) {
				return nil, fmt.Errorf("mappings: %s: %w", m.name, &RuleError{Msg: fmt.Sprintf("setting %s: %q is not one of %s", k, v, strings.Join(st.Values, ", ")), Kind: model.ErrInvalid})
			}
			e.settings[k] = v
		}
	}
	autoAdmin := false
	switch m.autoAdmin {
	case "true":
		autoAdmin = true
	case "false":
	default:
		autoAdmin, _ = strconv.ParseBool(e.settings[m.autoAdmin])
	}
	var msgID string
	if m.messageID != nil {
		msgID = e.get(m.messageID, e.bodyRes).String()
	}
	if m.split == nil {
		b := &Batch{Items: e.single[:]}
		e.translateItem(&b.Items[0], e.bodyRes, msgID, autoAdmin, in.Body)
		return b, nil
	}
	arr := e.get(m.split, e.bodyRes)
	if !arr.IsArray() {
		return nil, fmt.Errorf("mappings: %s: %w", m.name, &RuleError{Path: m.split.text, Msg: "must be an array of messages", Kind: model.ErrInvalid})
	}
	elems := arr.Array()
	b := &Batch{Items: make([]Item, len(elems)), Split: true}
	for i, el := range elems {
		e.index = i
		e.prefix = m.split.text + "." + strconv.Itoa(i) + "."
		e.translateItem(&b.Items[i], el, msgID, autoAdmin, []byte(el.Raw))
	}
	return b, nil
}

func (e *env) translateItem(it *Item, ctx gjson.Result, msgID string, autoAdmin bool, raw []byte) {
	m := e.m
	it.Index = e.index
	if m.key != nil {
		it.Key = e.get(m.key, ctx).String()
	}
	e.client = ""
	e.lastPath = ""
	if e.in.Explain {
		e.trace = &it.Trace
	}
	var k *ckind
	for _, c := range m.kinds {
		if c.match == nil || e.eval(c.match, ctx) {
			k = c
			break
		}
	}
	if k == nil {
		it.Err = e.noKind(ctx)
		return
	}
	it.Kind = k.name
	id := msgID
	if k.messageID != nil {
		id = e.get(k.messageID, e.bodyRes).String()
	}
	inb := &model.Inbound{
		Partner:        m.name,
		Protocol:       e.in.Protocol,
		Kind:           k.name,
		MessageID:      id,
		Target:         model.Target{Create: k.create, Recreate: k.recreate},
		Require:        k.require,
		Event:          k.event,
		Options:        model.ApplyOptions{Owners: m.owners, AutoAdmin: autoAdmin, Writer: m.name},
		MappingVersion: m.version,
		Raw:            raw,
	}
	e.inb = inb
	if k.nFields > 0 {
		inb.Patch.Fields = make(map[string]any, k.nFields)
	}
	if k.nData > 0 {
		inb.Data = make(map[string]any, k.nData)
	}
	for _, rf := range k.refuse {
		if e.eval(rf.when, ctx) {
			it.Err = &RuleError{Rule: rf.where, Path: e.prefix + rf.field, Field: rf.field, Msg: rf.message, Kind: model.ErrRefused}
			return
		}
	}
	if n := k.pre.n; n > 0 {
		if cap(e.slots) >= n {
			e.slots = e.slots[:n]
			clear(e.slots)
		} else {
			e.slots = make([]gjson.Result, n)
		}
		k.pre.walk(ctx, e.slots)
	}
	for _, r := range k.rules {
		if err := e.run(r, ctx, nil); err != nil {
			it.Err = err
			e.slots = e.slots[:0:cap(e.slots)]
			return
		}
	}
	e.slots = e.slots[:0:cap(e.slots)]
	if k.unmapped != "" && ctx.IsObject() {
		var extra map[string]any
		ctx.ForEach(func(key, v gjson.Result) bool {
			if !k.read[key.Str] {
				if extra == nil {
					extra = map[string]any{}
				}
				extra[key.Str] = v.Value()
			}
			return true
		})
		if extra != nil {
			if inb.Data == nil {
				inb.Data = make(map[string]any, 1)
			}
			inb.Data[k.unmapped] = extra
		}
	}
	if len(inb.Patch.Fields) == 0 {
		inb.Patch.Fields = nil
	}
	if len(inb.Data) == 0 {
		inb.Data = nil
	}
	if inb.Patch.ClientStatus == nil && e.client != "" {
		s := e.client
		inb.Patch.ClientStatus = &s
	}
	it.Inbound = inb
}

// noKind is the error of a message no kind matches. It tells the partner
// which values the kinds that could apply (their route, protocol and
// operation hold) expected at which paths, and what the message holds
// there; it names no rule, since no rule of ours is at fault.
func (e *env) noKind(ctx gjson.Result) *RuleError {
	type want struct {
		src  *source
		vals []string
	}
	var order []string
	byPath := map[string]*want{}
	add := func(src *source, vals ...string) {
		w := byPath[src.text]
		if w == nil {
			w = &want{src: src}
			byPath[src.text] = w
			order = append(order, src.text)
		}
		for _, v := range vals {
			if !contains(w.vals, v) {
				w.vals = append(w.vals, v)
			}
		}
	}
	var walk func(c *ccond)
	walk = func(c *ccond) {
		switch c.op {
		case cEquals, cIn:
			add(&c.src, c.vals...)
		case cExists:
			if c.exists {
				add(&c.src)
			}
		case cMatches:
			add(&c.src, "text matching "+c.re.String())
		case cAll, cAny:
			for _, k := range c.kids {
				walk(k)
			}
		}
	}
	for _, k := range e.m.kinds {
		if k.match != nil && e.gateHolds(k.match, ctx) {
			walk(k.match)
		}
	}
	err := &RuleError{Path: strings.TrimSuffix(e.prefix, "."), Field: "kind", Kind: model.ErrInvalid,
		Msg: "the message is none of the kinds this partner sends"}
	var paths, parts []string
	for _, p := range order {
		w := byPath[p]
		path := p
		if w.src.root == rootItem {
			path = e.prefix + p
		}
		got := e.get(w.src, ctx)
		var part string
		switch {
		case len(w.vals) == 0 && !present(got):
			part = "is missing"
		case len(w.vals) == 0:
			continue
		case !present(got):
			part = "is missing (expected one of: " + strings.Join(w.vals, ", ") + ")"
		case containsFold(w.vals, got.String()):
			continue // this value is one some kind expects
		default:
			part = fmt.Sprintf("%q is not one of: %s", truncateText(got.String(), 80), strings.Join(w.vals, ", "))
		}
		paths, parts = append(paths, path), append(parts, part)
	}
	switch len(parts) {
	case 0:
	case 1:
		err.Path, err.Msg = paths[0], parts[0]
	default:
		for i := range parts {
			sep := ": "
			if strings.HasPrefix(parts[i], "is ") {
				sep = " "
			}
			parts[i] = paths[i] + sep + parts[i]
		}
		err.Msg = strings.Join(parts, "; ")
	}
	return err
}

// gateHolds reports whether c's route, protocol and operation tests (at its
// top level or directly under all:) hold for this message.
func (e *env) gateHolds(c *ccond, ctx gjson.Result) bool {
	switch c.op {
	case cProtocol, cRoute, cOperation:
		return e.eval(c, ctx)
	case cAll:
		for _, k := range c.kids {
			if !e.gateHolds(k, ctx) {
				return false
			}
		}
	}
	return true
}

// containsFold reports whether list holds s, ignoring case.
func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// truncateText cuts s to n runes, marking the cut.
func truncateText(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
