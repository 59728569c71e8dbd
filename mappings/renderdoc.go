package mappings

import (
	"encoding"
	"encoding/json"
	"math"
	"reflect"
	"sort"
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
	sort.Strings(n.order.names)
	sort.Strings(n.event.names)
	return n
}

// jsonMember is a struct field as encoding/json writes it.
type jsonMember struct {
	index     int
	omitEmpty bool
	// basic: a string, integer or boolean kind without a JSON or text
	// marshaler, which appendJSON writes straight from the reflect.Value.
	basic bool
}

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

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
		marshals := f.Type.Implements(jsonMarshalerType) || f.Type.Implements(textMarshalerType) ||
			reflect.PointerTo(f.Type).Implements(jsonMarshalerType) || reflect.PointerTo(f.Type).Implements(textMarshalerType)
		basic := !marshals && strings.Contains(",string,int,int64,bool,", ","+f.Type.Kind().String()+",")
		out[name] = jsonMember{index: i, omitEmpty: strings.Contains(","+opts+",", ",omitempty,"), basic: basic}
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

// appendProjected appends, as encoding/json would encode a map of them,
// the members names (sorted) of the struct *p: omitempty members that are
// empty are left out, and each value encodes as it does inside the whole
// struct.
func appendProjected(b []byte, p any, members map[string]jsonMember, names []string) ([]byte, error) {
	v := reflect.ValueOf(p).Elem()
	b = append(b, '{')
	n := 0
	for _, name := range names {
		m, ok := members[name]
		if !ok {
			continue
		}
		f := v.Field(m.index)
		if m.omitEmpty && isEmptyJSON(f) {
			continue
		}
		if n > 0 {
			b = append(b, ',')
		}
		n++
		b = appendJSONString(b, name)
		b = append(b, ':')
		var err error
		switch {
		case m.basic && f.Kind() == reflect.String:
			b = appendJSONString(b, f.String())
		case m.basic && f.Kind() == reflect.Bool:
			b = strconv.AppendBool(b, f.Bool())
		case m.basic:
			b = strconv.AppendInt(b, f.Int(), 10)
		default:
			if b, err = appendJSON(b, f.Interface()); err != nil {
				return nil, err
			}
		}
	}
	return append(b, '}'), nil
}

// encodeDoc encodes the document the render reads: the whole of order,
// event and extra, or (n.all false) only the members n names. Every path
// n was built from reads the same value in both. The bytes are those of
// json.Marshal of the document (with order and event the projected maps).
func encodeDoc(n *docNeeds, o *model.Order, ev *model.Event, extra map[string]any) ([]byte, error) {
	if n == nil || n.all {
		return json.Marshal(renderDoc{Order: o, Event: ev, Extra: extra})
	}
	b := make([]byte, 0, 512)
	b = append(b, `{"order":`...)
	var err error
	if n.order.whole {
		b, err = appendJSON(b, o)
	} else {
		b, err = appendProjected(b, o, orderMembers, n.order.names)
	}
	if err != nil {
		return nil, err
	}
	if ev != nil && (n.event.whole || len(n.event.names) > 0) {
		b = append(b, `,"event":`...)
		if n.event.whole {
			b, err = appendJSON(b, ev)
		} else {
			b, err = appendProjected(b, ev, eventMembers, n.event.names)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(extra) > 0 {
		b = append(b, `,"extra":`...)
		if b, err = appendJSON(b, extra); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

// appendJSON appends json.Marshal(v) to b, writing strings, whole numbers,
// booleans, nil, and maps and lists of them itself, and the rest through
// json.Marshal.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		return appendJSONString(b, x), nil
	case bool:
		return strconv.AppendBool(b, x), nil
	case int:
		return strconv.AppendInt(b, int64(x), 10), nil
	case int64:
		return strconv.AppendInt(b, x, 10), nil
	case float64:
		if a := math.Abs(x); a == 0 || a >= 1e-6 && a < 1e21 {
			return strconv.AppendFloat(b, x, 'f', -1, 64), nil
		}
	case map[string]any:
		if x == nil {
			return append(b, "null"...), nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, x[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		if x == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendJSON(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	}
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(b, j...), nil
}

// appendJSONString appends s as encoding/json writes it: as is between
// quotes when it holds only printable ASCII other than '"', '\', '<', '>'
// and '&', else through json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
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

// jtree is a JSON render's output under construction, as one slice of
// nodes: nodes[0] is the output object; an object's members are linked
// from first through next, in the order their keys were first written.
type jtree struct {
	nodes []jnode
}

// jnode is an object (kind jObj) or a value: a string to quote (jStr) or
// JSON text (jRaw).
type jnode struct {
	key               string
	kind              uint8
	s                 string
	first, last, next int32
}

const (
	jObj uint8 = iota
	jStr
	jRaw
)

func newJTree(size int) *jtree {
	t := &jtree{nodes: make([]jnode, 1, 1+size)}
	t.nodes[0] = jnode{kind: jObj, first: -1, last: -1, next: -1}
	return t
}

// add appends n as the last member of object parent and returns its index.
func (t *jtree) add(parent int32, n jnode) int32 {
	n.first, n.last, n.next = -1, -1, -1
	i := int32(len(t.nodes))
	t.nodes = append(t.nodes, n)
	p := &t.nodes[parent]
	if p.first < 0 {
		p.first = i
	} else {
		t.nodes[p.last].next = i
	}
	p.last = i
	return i
}

// set writes a value (kind jStr or jRaw, s) at the path parts as
// sjson.SetBytes does on the encoded tree: a missing object is created, an
// existing key keeps its place and takes the new value. It reports false,
// changing nothing, when the path runs through a value (sjson has its own
// rules for that).
func (t *jtree) set(parts []string, kind uint8, s string) bool {
	cur := int32(0)
	for i, p := range parts {
		child := int32(-1)
		for k := t.nodes[cur].first; k >= 0; k = t.nodes[k].next {
			if t.nodes[k].key == p {
				child = k
				break
			}
		}
		if i == len(parts)-1 {
			if child < 0 {
				t.add(cur, jnode{key: p, kind: kind, s: s})
			} else {
				n := &t.nodes[child]
				n.kind, n.s, n.first, n.last = kind, s, -1, -1
			}
			return true
		}
		switch {
		case child < 0:
			child = t.add(cur, jnode{key: p, kind: jObj})
		case t.nodes[child].kind != jObj:
			return false
		}
		cur = child
	}
	return true
}

// empty reports whether nothing was written.
func (t *jtree) empty() bool { return t.nodes[0].first < 0 }

// appendTo appends the object at index i to b.
func (t *jtree) appendTo(b []byte, i int32) []byte {
	b = append(b, '{')
	for k := t.nodes[i].first; k >= 0; k = t.nodes[k].next {
		if k != t.nodes[i].first {
			b = append(b, ',')
		}
		n := &t.nodes[k]
		b = append(b, '"')
		b = append(b, n.key...)
		b = append(b, '"', ':')
		switch n.kind {
		case jObj:
			b = t.appendTo(b, k)
		case jStr:
			b = appendSJSONString(b, n.s)
		default:
			b = append(b, n.s...)
		}
	}
	return append(b, '}')
}

// sjsonRaw returns the JSON text sjson.SetBytes writes for value v.
func sjsonRaw(v any) (string, error) {
	var b []byte
	switch x := v.(type) {
	case string:
		b = appendSJSONString(nil, x)
	case []byte:
		b = appendSJSONString(nil, string(x))
	case bool:
		b = strconv.AppendBool(nil, x)
	case int8:
		b = strconv.AppendInt(nil, int64(x), 10)
	case int16:
		b = strconv.AppendInt(nil, int64(x), 10)
	case int32:
		b = strconv.AppendInt(nil, int64(x), 10)
	case int64:
		b = strconv.AppendInt(nil, x, 10)
	case uint8:
		b = strconv.AppendUint(nil, uint64(x), 10)
	case uint16:
		b = strconv.AppendUint(nil, uint64(x), 10)
	case uint32:
		b = strconv.AppendUint(nil, uint64(x), 10)
	case uint64:
		b = strconv.AppendUint(nil, x, 10)
	case float32:
		return sjsonFloat(float64(x))
	case float64:
		return sjsonFloat(x)
	default:
		j, err := json.Marshal(v)
		return string(j), err
	}
	return string(b), nil
}

func sjsonFloat(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		_, err := json.Marshal(f)
		return "", err
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
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
