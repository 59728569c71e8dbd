package mappings

import (
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/equus/sogateway/internal/model"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
)

// Rendered is an order rendered for a partner.
type Rendered struct {
	ContentType string
	Body        []byte
	// Subject is set by renders that declare one (mail transports use it).
	Subject string
	Headers map[string]string
}

// renderDoc is the document render rules read: order.*, event.*, extra.*.
type renderDoc struct {
	Order *model.Order   `json:"order"`
	Event *model.Event   `json:"event,omitempty"`
	Extra map[string]any `json:"extra,omitempty"`
}

// Render renders order o (and the event ev that caused it, may be nil) with
// the declared render kind. extra carries values the caller adds (e.g. a
// delivery id or an offline window) and is read as extra.<name>.
func (m *Mapping) Render(kind string, o *model.Order, ev *model.Event, extra map[string]any) (*Rendered, error) {
	cr, ok := m.renders[kind]
	if !ok {
		return nil, fmt.Errorf("mappings: %s: render %q (known: %s): %w", m.name, kind, strings.Join(m.Renders(), ", "), ErrUnknownRender)
	}
	return m.render(cr, o, ev, extra, false)
}

// render renders with cr; slow encodes the whole document and writes each
// output path with sjson, as Render did before it learned to encode only
// what cr reads and to build its JSON output in one pass (the tests hold the
// two to the same bytes).
func (m *Mapping) render(cr *crender, o *model.Order, ev *model.Event, extra map[string]any, slow bool) (*Rendered, error) {
	if o == nil {
		o = &model.Order{}
	}
	needs := &cr.needs
	if slow {
		needs = nil
	}
	doc, err := encodeDoc(needs, o, ev, extra)
	if err != nil {
		return nil, fmt.Errorf("mappings: %s: render %s: %w", m.name, cr.name, err)
	}
	e := &env{m: m, in: &Input{}, bodyRes: gjson.ParseBytes(doc), render: true, settings: m.settings}
	if cr.format == "text" {
		e.vars = map[string]any{}
	}
	out := &outDoc{format: cr.format}
	if cr.format == "json" && !slow {
		out.tree = newJTree(cr.outNodes)
	}
	e.out = out
	for _, r := range cr.rules {
		if err := e.run(r, e.bodyRes, nil); err != nil {
			return nil, err
		}
	}
	res := &Rendered{ContentType: cr.contentType}
	switch cr.format {
	case "json":
		out.flush()
		res.Body = out.json
		if res.Body == nil {
			res.Body = []byte("{}")
		}
	case "xml":
		res.Body = out.xml.marshal(cr.root, cr.ns)
	case "text":
		res.Body = []byte(e.exec(cr.body, e.bodyRes))
	}
	if cr.subject != nil {
		res.Subject = e.exec(cr.subject, e.bodyRes)
	}
	if len(cr.headers) > 0 {
		res.Headers = make(map[string]string, len(cr.headers))
		for k, t := range cr.headers {
			res.Headers[k] = e.exec(t, e.bodyRes)
		}
	}
	return res, nil
}

// outDoc accumulates a render's output.
type outDoc struct {
	format string
	json   []byte
	// tree, while set, holds the JSON output instead of json (see jtree);
	// a path it does not take moves the output to json and sjson.
	tree *jtree
	xml  xnode
}

// flush moves the output from tree to json.
func (out *outDoc) flush() {
	if out.tree != nil && !out.tree.empty() {
		out.json = out.tree.appendTo(make([]byte, 0, 256), 0)
	}
	out.tree = nil
}

// setJSON writes v at r's output path, into the tree while it takes it.
func (e *env) setJSON(r *crule, v any) error {
	out := e.out
	var err error
	if out.tree != nil && r.out != nil {
		kind, s := jRaw, ""
		switch x := v.(type) {
		case gjson.Result:
			s = x.Raw
		case string:
			kind, s = jStr, x
		default:
			if s, err = sjsonRaw(jsonable(v)); err != nil {
				return e.fail(r, model.ErrInvalid, "cannot write output: %v", err)
			}
		}
		if out.tree.set(r.out, kind, s) {
			return nil
		}
	}
	out.flush()
	if res, ok := v.(gjson.Result); ok {
		out.json, err = sjson.SetRawBytes(out.json, r.to.name, []byte(res.Raw))
	} else {
		out.json, err = sjson.SetBytes(out.json, r.to.name, jsonable(v))
	}
	if err != nil {
		return e.fail(r, model.ErrInvalid, "cannot write output: %v", err)
	}
	return nil
}

// runRenderFast applies a JSON render rule that copies a string from the
// document (paths only: no value, template, condition, transform, pattern
// or list), writing the string without boxing it. It reports done=false,
// having changed nothing but lastPath, when the value is absent or not a
// string, so that run takes the general path and answers the same.
func (e *env) runRenderFast(r *crule, ctx gjson.Result) (bool, error) {
	for i := range r.from {
		res := e.get(&r.from[i], ctx)
		if !present(res) {
			continue
		}
		if res.Type != gjson.String {
			return false, nil
		}
		e.lastPath = e.relPath(&r.from[i])
		if r.required && strings.TrimSpace(res.Str) == "" {
			return true, e.fail(r, model.ErrInvalid, "must not be empty")
		}
		if e.out.tree != nil && e.out.tree.set(r.out, jStr, res.Str) {
			return true, nil
		}
		return true, e.setJSON(r, res.Str)
	}
	return false, nil
}

func (e *env) setOut(r *crule, v any) error {
	out := e.out
	switch out.format {
	case "text":
		e.vars[r.to.name] = plain(v)
	case "json":
		return e.setJSON(r, v)
	case "xml":
		out.xml.add(strings.Split(r.to.name, "."), v)
	}
	return nil
}

func jsonable(v any) any {
	if l, ok := v.([]*omap); ok {
		out := make([]any, len(l))
		for i, o := range l {
			out[i] = o
		}
		return out
	}
	return plain(v)
}

// xnode is an XML element tree that keeps insertion order.
type xnode struct {
	name string
	text string
	kids []*xnode
}

func (n *xnode) child(name string) *xnode {
	for _, k := range n.kids {
		if k.name == name {
			return k
		}
	}
	k := &xnode{name: name}
	n.kids = append(n.kids, k)
	return k
}

func (n *xnode) add(path []string, v any) {
	cur := n
	for _, p := range path[:len(path)-1] {
		cur = cur.child(p)
	}
	last := path[len(path)-1]
	switch x := v.(type) {
	case []*omap:
		for _, o := range x {
			el := &xnode{name: last}
			for i, k := range o.k {
				el.add(strings.Split(k, "."), o.v[i])
			}
			cur.kids = append(cur.kids, el)
		}
	case []any:
		for _, a := range x {
			cur.kids = append(cur.kids, &xnode{name: last, text: toString(a)})
		}
	default:
		cur.child(last).text = toString(v)
	}
}

func (n *xnode) marshal(root, ns string) []byte {
	var b strings.Builder
	b.WriteString(xml.Header)
	b.WriteString("<" + root)
	if ns != "" {
		b.WriteString(` xmlns="`)
		xml.EscapeText(&b, []byte(ns)) //nolint:errcheck // strings.Builder does not fail
		b.WriteString(`"`)
	}
	b.WriteString(">")
	for _, k := range n.kids {
		k.write(&b)
	}
	b.WriteString("</" + root + ">")
	return []byte(b.String())
}

func (n *xnode) write(b *strings.Builder) {
	b.WriteString("<" + n.name + ">")
	xml.EscapeText(b, []byte(n.text)) //nolint:errcheck // strings.Builder does not fail
	for _, k := range n.kids {
		k.write(b)
	}
	b.WriteString("</" + n.name + ">")
}
