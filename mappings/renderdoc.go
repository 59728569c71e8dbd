package mappings

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/equus/sogateway/internal/model"
)

// docNeeds says which parts of the document (order.*, event.*) a render
// reads, so that Render encodes only those: an Ack reads three members of
// the order, not the order's fields and the event's raw message. It is
// worked out once, when the mapping is compiled, from every path the
// render's rules, conditions and templates read. A path it cannot follow by
// name (a wildcard, a query, a modifier, an escape) makes it encode the
// whole document, as it always did.
type docNeeds struct {
	all          bool
	order, event memberNeeds
}

// memberNeeds are the top-level JSON members of a value a render reads:
// whole, or only names (none when names is empty).
type memberNeeds struct {
	whole bool
	names []string
}

func (m *memberNeeds) add(name string) {
	if !contains(m.names, name) {
		m.names = append(m.names, name)
	}
}

// plainPart returns the first component of path p and the rest, or ok
// false when the component is not a plain name that gjson reads as a key.
func plainPart(p string) (first, rest string, more, ok bool) {
	first, rest, more = strings.Cut(p, ".")
	if !plainName(first) {
		return "", "", false, false
	}
	return first, rest, more, true
}

// path records that the render reads document path p.
func (n *docNeeds) path(p string) {
	first, rest, more, ok := plainPart(p)
	if !ok {
		n.all = true
		return
	}
	var m *memberNeeds
	switch first {
	case "order":
		m = &n.order
	case "event":
		m = &n.event
	default:
		return // extra is always encoded; anything else is not in the document
	}
	if !more {
		m.whole = true
		return
	}
	name, _, _, ok := plainPart(rest)
	if !ok {
		m.whole = true
		return
	}
	m.add(name)
}

// source records what s reads; top says s is read relative to the document
// (a top-level rule) rather than to an each element.
func (n *docNeeds) source(s *source, top bool) {
	switch s.root {
	case rootItem:
		if top {
			n.path(s.path)
		}
	case rootBody:
		n.path(s.path)
	}
}

func (n *docNeeds) template(t *template, top bool) {
	if t == nil {
		return
	}
	for _, p := range t.parts {
		if p.src != nil {
			n.source(p.src, top)
		}
	}
}

func (n *docNeeds) cond(c *ccond, top bool) {
	if c == nil {
		return
	}
	n.source(&c.src, top)
	for _, k := range c.kids {
		n.cond(k, top)
	}
}

func (n *docNeeds) rule(r *crule, top bool) {
	for i := range r.from {
		n.source(&r.from[i], top)
	}
	n.template(r.tmpl, top)
	n.cond(r.when, top)
	for _, sub := range r.each {
		n.rule(sub, false)
	}
}

// renderNeeds works out the docNeeds of a compiled render.
func renderNeeds(cr *crender) docNeeds {
	var n docNeeds
	for _, r := range cr.rules {
		n.rule(r, true)
	}
	n.template(cr.subject, true)
	n.template(cr.body, true)
	for _, t := range cr.headers {
		n.template(t, true)
	}
	return n
}

// jsonMember is a struct field as encoding/json writes it.
type jsonMember struct {
	index     int
	omitEmpty bool
}

// jsonMembers maps the JSON names of struct type t's fields to the fields.
func jsonMembers(t reflect.Type) map[string]jsonMember {
	out := map[string]jsonMember{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = jsonMember{index: i, omitEmpty: strings.Contains(","+opts+",", ",omitempty,")}
	}
	return out
}

var (
	orderMembers = jsonMembers(reflect.TypeFor[model.Order]())
	eventMembers = jsonMembers(reflect.TypeFor[model.Event]())
)

// isEmptyJSON is encoding/json's omitempty test.
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// project returns the members names of the struct *p as encoding/json
// would write them (omitempty members that are empty left out); each
// value encodes to the same JSON it has inside the whole struct.
func project(p any, members map[string]jsonMember, names []string) map[string]any {
	v := reflect.ValueOf(p).Elem()
	out := make(map[string]any, len(names))
	for _, name := range names {
		m, ok := members[name]
		if !ok {
			continue
		}
		f := v.Field(m.index)
		if m.omitEmpty && isEmptyJSON(f) {
			continue
		}
		out[name] = f.Interface()
	}
	return out
}

// encodeDoc encodes the document the render reads: the whole of order,
// event and extra, or (n.all false) only the members n names. Every path
// n was built from reads the same value in both.
func encodeDoc(n *docNeeds, o *model.Order, ev *model.Event, extra map[string]any) ([]byte, error) {
	if n == nil || n.all {
		return json.Marshal(renderDoc{Order: o, Event: ev, Extra: extra})
	}
	var d struct {
		Order any            `json:"order"`
		Event any            `json:"event,omitempty"`
		Extra map[string]any `json:"extra,omitempty"`
	}
	d.Extra = extra
	if n.order.whole {
		d.Order = o
	} else {
		d.Order = project(o, orderMembers, n.order.names)
	}
	if ev != nil {
		switch {
		case n.event.whole:
			d.Event = ev
		case len(n.event.names) > 0:
			d.Event = project(ev, eventMembers, n.event.names)
		}
	}
	return json.Marshal(d)
}

// outParts returns the keys of a JSON output path that sjson writes as
// plain object keys (no array indexes, appends, escapes or forced keys), or
// nil.
func outParts(p string) []string {
	parts := simplePath(p)
	if contains(parts, "-1") {
		return nil
	}
	return parts
}

// jnode is a JSON render's output under construction: an object (obj, with
// kids in the order their keys were first written) or a value (raw).
type jnode struct {
	key  string
	obj  bool
	raw  []byte
	kids []*jnode
}

// set writes raw at the path parts as sjson.SetRawBytes does on the
// encoded tree: a missing object is created, an existing key keeps its
// place and takes the new value. It reports false, changing nothing, when
// the path runs through a value (sjson has its own rules for that).
func (n *jnode) set(parts []string, raw []byte) bool {
	cur := n
	for i, p := range parts {
		var child *jnode
		for _, k := range cur.kids {
			if k.key == p {
				child = k
				break
			}
		}
		if i == len(parts)-1 {
			if child == nil {
				cur.kids = append(cur.kids, &jnode{key: p, raw: raw})
			} else {
				child.obj, child.raw, child.kids = false, raw, nil
			}
			return true
		}
		switch {
		case child == nil:
			child = &jnode{key: p, obj: true}
			cur.kids = append(cur.kids, child)
		case !child.obj:
			return false
		}
		cur = child
	}
	return true
}

// appendTo appends the object n encodes to b.
func (n *jnode) appendTo(b []byte) []byte {
	b = append(b, '{')
	for i, k := range n.kids {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = append(b, k.key...)
		b = append(b, '"', ':')
		if k.obj {
			b = k.appendTo(b)
		} else {
			b = append(b, k.raw...)
		}
	}
	return append(b, '}')
}

// sjsonRaw returns the JSON text sjson.SetBytes writes for value v.
func sjsonRaw(v any) ([]byte, error) {
	switch x := v.(type) {
	case string:
		return appendSJSONString(nil, x), nil
	case []byte:
		return appendSJSONString(nil, string(x)), nil
	case bool:
		return strconv.AppendBool(nil, x), nil
	case int8:
		return strconv.AppendInt(nil, int64(x), 10), nil
	case int16:
		return strconv.AppendInt(nil, int64(x), 10), nil
	case int32:
		return strconv.AppendInt(nil, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(nil, x, 10), nil
	case uint8:
		return strconv.AppendUint(nil, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(nil, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(nil, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(nil, x, 10), nil
	case float32:
		return sjsonFloat(float64(x))
	case float64:
		return sjsonFloat(x)
	}
	return json.Marshal(v)
}

func sjsonFloat(f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		_, err := json.Marshal(f)
		return nil, err
	}
	return strconv.AppendFloat(nil, f, 'f', -1, 64), nil
}

// appendSJSONString appends s as sjson quotes it: as is between quotes
// when it holds only printable ASCII without '"' and '\', else as
// encoding/json writes it.
func appendSJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > 0x7f || s[i] == '"' || s[i] == '\\' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
