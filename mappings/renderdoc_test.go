package mappings

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/equus/sogateway/internal/model"
)

// renderBoth renders kind with m both ways (only what the render reads,
// output built in one pass; and the whole document with sjson) and fails
// t unless the answers are the same, byte for byte.
func renderBoth(t *testing.T, m *Mapping, kind string, o *model.Order, ev *model.Event, extra map[string]any) *Rendered {
	t.Helper()
	cr := m.renders[kind]
	fast, ferr := m.render(cr, o, ev, extra, false)
	slow, serr := m.render(cr, o, ev, extra, true)
	if fmt.Sprint(ferr) != fmt.Sprint(serr) {
		t.Fatalf("%s %s: error %v, whole document %v", m.Name(), kind, ferr, serr)
	}
	if ferr != nil {
		return nil
	}
	if string(fast.Body) != string(slow.Body) || fast.ContentType != slow.ContentType || fast.Subject != slow.Subject ||
		!reflect.DeepEqual(fast.Headers, slow.Headers) {
		t.Fatalf("%s %s:\n got %s %q %q %v\nwant %s %q %q %v", m.Name(), kind, fast.Body, fast.ContentType, fast.Subject, fast.Headers,
			slow.Body, slow.ContentType, slow.Subject, slow.Headers)
	}
	return fast
}

// renderInputs are the orders, events and extras of every render fixture
// of every shipped mapping, the EMG Ack benchmark's case and an empty order.
func renderInputs(t testing.TB) []renderCase {
	fx, err := Fixtures(".")
	if err != nil {
		t.Fatal(err)
	}
	var out []renderCase
	for _, f := range fx {
		if !strings.HasSuffix(f.Input, ".render.json") {
			continue
		}
		data, err := os.ReadFile(f.Input)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := decodeRenderCase(data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rc)
	}
	if len(out) < 20 {
		t.Fatalf("only %d render fixtures", len(out))
	}
	o, ev, extra := benchAckCase()
	return append(out, renderCase{Order: o, Event: ev, Extra: extra}, renderCase{})
}

// TestRenderReadsOnlyWhatItNeeds renders every declared render of every
// shipped mapping with the order, event and extra of every render fixture
// (whatever partner it was written for) and checks that encoding only the
// members the render reads, and building its JSON in one pass, answers
// the same bytes as encoding the whole document and writing each path with
// sjson.
func TestRenderReadsOnlyWhatItNeeds(t *testing.T) {
	set, err := Load(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, rc := range renderInputs(t) {
		for _, name := range set.Names() {
			m := set.Get(name)
			for _, kind := range m.Renders() {
				renderBoth(t, m, kind, rc.Order, rc.Event, rc.Extra)
				n++
			}
		}
	}
	t.Logf("%d renders compared", n)
}

// TestRenderNeeds checks what the emg Ack render is found to read, and that
// a path the analysis cannot follow by name makes Render encode everything.
func TestRenderNeeds(t *testing.T) {
	set, err := Load(".")
	if err != nil {
		t.Fatal(err)
	}
	ack := set.Get("emg").renders["ack"].needs
	if ack.all || ack.order.whole || ack.event.whole || len(ack.event.names) != 0 {
		t.Fatalf("emg ack needs %+v, want some order members only", ack)
	}
	if got := strings.Join(ack.order.names, ","); got != "id,refs,service_type" {
		t.Errorf("emg ack reads order members %s", got)
	}
	for _, c := range []struct {
		path  string
		all   bool
		whole bool
		names string
	}{
		{"order.id", false, false, "id"},
		{"order.fields.description.value", false, false, "fields"},
		{"order", false, true, ""},
		{"order.fields|@keys", false, true, ""},
		{"order.tasks.#.name", false, false, "tasks"},
		{"order.*", false, true, ""},
		{`order.refs\.x`, false, true, ""},
		{"ord*", true, false, ""},
		{"@this", true, false, ""},
		{"extra.message_id", false, false, ""},
		{"vars.x", false, false, ""},
	} {
		var n docNeeds
		n.path(c.path)
		if n.all != c.all || n.order.whole != c.whole || strings.Join(n.order.names, ",") != c.names {
			t.Errorf("path %q: needs %+v, want all=%v order whole=%v names=%q", c.path, n, c.all, c.whole, c.names)
		}
	}
}

// TestProjectMatchesStruct checks that every JSON member of an order and an
// event, projected alone, encodes as it does inside the whole value (set
// and empty, omitempty or not).
func TestProjectMatchesStruct(t *testing.T) {
	o, ev, _ := benchAckCase()
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	o.Flags = []model.Flag{model.FlagRush}
	o.Tasks = []model.Task{{ID: "t", Name: "n", Fields: map[string]any{"a": 1.5}}}
	o.Attachments = []model.Attachment{{Name: "a.txt", Size: 3}}
	o.Assignment = &model.Assignment{Group: "g"}
	o.AcceptedAt = &now
	ev.Warnings = []string{"w <&>"}
	for _, c := range []struct {
		name    string
		v       any
		members map[string]jsonMember
	}{
		{"order", o, orderMembers}, {"empty order", &model.Order{}, orderMembers},
		{"event", ev, eventMembers}, {"empty event", &model.Event{}, eventMembers},
	} {
		whole, err := json.Marshal(c.v)
		if err != nil {
			t.Fatal(err)
		}
		var want map[string]json.RawMessage
		if err := json.Unmarshal(whole, &want); err != nil {
			t.Fatal(err)
		}
		if len(c.members) < 10 {
			t.Fatalf("%s: %d members", c.name, len(c.members))
		}
		for name := range c.members {
			b, err := appendProjected(nil, c.v, c.members, []string{name})
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]json.RawMessage
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if w, ok := want[name]; !ok {
				if len(got) != 0 {
					t.Errorf("%s.%s: projected %s, the whole value leaves it out", c.name, name, b)
				}
			} else if string(got[name]) != string(w) {
				t.Errorf("%s.%s: projected %s, want %s", c.name, name, got[name], w)
			}
		}
	}
}

// oddRenders are JSON renders whose output paths overlap, replace each
// other, run through values, use array indexes, and write every kind of
// value, so the one-pass output has to agree with sjson on all of them.
const oddRenders = `partner: odd
renders:
  overlap:
    format: json
    rules:
      - {to: A.B, value: 1}
      - {to: A.C, from: order.id}
      - {to: A.B, value: "again"}
      - {to: D, value: true}
      - {to: A, value: {x: 1}}
      - {to: A.E, value: 2}
      - {to: F-g.h_1, from: order.refs}
      - {to: Z, from: order.flags}
  into-value:
    format: json
    rules:
      - {to: A, from: order.id}
      - {to: A.B, value: 1}
      - {to: C, value: "c"}
  into-raw:
    format: json
    rules:
      - {to: R, from: order.refs}
      - {to: R.requestor, value: "replaced"}
      - {to: R.new, value: 3}
  index:
    format: json
    rules:
      - {to: L.0, value: first}
      - {to: L.1, from: order.id}
      - {to: M, value: m}
  index-first:
    format: json
    rules:
      - {to: "0", value: zero}
      - {to: N, value: n}
  values:
    format: json
    rules:
      - {to: S.plain, from: order.partner}
      - {to: S.quote, from: extra.quote}
      - {to: S.html, from: extra.html}
      - {to: S.utf8, from: extra.utf8}
      - {to: S.ctl, from: extra.ctl}
      - {to: N.int, from: extra.int}
      - {to: N.big, from: extra.big}
      - {to: N.small, from: extra.small}
      - {to: N.neg, from: extra.neg}
      - {to: B.t, from: extra.t}
      - {to: B.f, from: extra.f}
      - {to: O.obj, from: extra.obj}
      - {to: O.list, from: extra.list}
      - {to: O.null, from: extra.null, default: null}
      - {to: O.def, from: extra.missing, default: 7}
      - {to: O.each, from: extra.items, each: [{to: k, from: k}, {to: n, from: n}]}
      - {to: T, template: "{{order.id}}/{{extra.quote}}"}
      - {to: W, from: extra.quote, when: {path: event.type, equals: order.updated}}
  empty:
    format: json
    rules:
      - {to: X, from: extra.missing}
`

// TestRenderOutputMatchesSJSON renders oddRenders both ways with values of
// every JSON kind, set and missing.
func TestRenderOutputMatchesSJSON(t *testing.T) {
	dir := t.TempDir()
	if err := mkPartner(dir, "odd", oddRenders); err != nil {
		t.Fatal(err)
	}
	set, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := set.Get("odd")
	o, ev, _ := benchAckCase()
	o.Flags = []model.Flag{model.FlagRush, model.FlagRework}
	extras := []map[string]any{
		nil,
		{"quote": `say "hi" \ there`, "html": "<a & b>", "utf8": "Zürich \u2028", "ctl": "tab\there\x7f",
			"int": 202, "big": 1e21, "small": 1e-7, "neg": -0.5, "t": true, "f": false,
			"obj": map[string]any{"b": 1, "a": []any{"x", nil}}, "list": []any{1, "two"}, "null": nil,
			"items": []any{map[string]any{"k": "a", "n": 1}, map[string]any{"k": "b"}}},
		{"int": math.MaxInt64, "big": -1e300, "quote": ""},
	}
	if got := renderBoth(t, m, "overlap", o, ev, nil); !strings.HasPrefix(string(got.Body), `{"A":{"x":1,"E":2},"D":true,"F-g":`) {
		t.Errorf("overlap = %s", got.Body)
	}
	for _, extra := range extras {
		for _, kind := range m.Renders() {
			renderBoth(t, m, kind, o, ev, extra)
			renderBoth(t, m, kind, &model.Order{}, nil, extra)
		}
	}
	if got := renderBoth(t, m, "empty", o, ev, nil); string(got.Body) != "{}" {
		t.Errorf("empty = %s", got.Body)
	}
}

// FuzzRenderReadsOnlyWhatItNeeds renders every shipped and odd render with
// random orders, events and extras both ways; the answers must agree.
func FuzzRenderReadsOnlyWhatItNeeds(f *testing.F) {
	set, err := Load(".")
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	if err := mkPartner(dir, "odd", oddRenders); err != nil {
		f.Fatal(err)
	}
	odd, err := Load(dir)
	if err != nil {
		f.Fatal(err)
	}
	maps := []*Mapping{odd.Get("odd")}
	for _, name := range set.Names() {
		maps = append(maps, set.Get(name))
	}
	for _, rc := range renderInputs(f) {
		b, _ := json.Marshal(rc)
		f.Add(string(b))
	}
	f.Add(`{"order":{"id":"x\"<","refs":{"requestor":"\u2028"},"fields":{"a":{"value":[1,{"b":null}]}}},"event":{"type":"order.updated","data":{"text":"t"}},"extra":{"quote":1e400}}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var rc renderCase
		if json.Unmarshal([]byte(doc), &rc) != nil {
			return
		}
		for _, m := range maps {
			for _, kind := range m.Renders() {
				renderBoth(t, m, kind, rc.Order, rc.Event, rc.Extra)
			}
		}
		if rc.Order != nil {
			checkDoc(t, rc.Order, rc.Event, rc.Extra)
		}
	})
}

// docReference is encodeDoc as json.Marshal writes it: the projected
// members of order and event as maps, then extra.
func docReference(n *docNeeds, o *model.Order, ev *model.Event, extra map[string]any) ([]byte, error) {
	project := func(p any, members map[string]jsonMember, names []string) map[string]any {
		v := reflect.ValueOf(p).Elem()
		out := map[string]any{}
		for _, name := range names {
			if m, ok := members[name]; ok && !(m.omitEmpty && isEmptyJSON(v.Field(m.index))) {
				out[name] = v.Field(m.index).Interface()
			}
		}
		return out
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
	if ev != nil && n.event.whole {
		d.Event = ev
	} else if ev != nil && len(n.event.names) > 0 {
		d.Event = project(ev, eventMembers, n.event.names)
	}
	return json.Marshal(d)
}

// checkDoc fails t unless encodeDoc writes what json.Marshal writes, for
// several needs over the same order, event and extra.
func checkDoc(t *testing.T, o *model.Order, ev *model.Event, extra map[string]any) {
	t.Helper()
	var names []string
	for n := range orderMembers {
		names = append(names, n)
	}
	var evNames []string
	for n := range eventMembers {
		evNames = append(evNames, n)
	}
	sort.Strings(names)
	sort.Strings(evNames)
	for _, n := range []docNeeds{
		{},
		{order: memberNeeds{names: []string{"id", "refs", "service_type"}}},
		{order: memberNeeds{names: names}, event: memberNeeds{names: evNames}},
		{order: memberNeeds{whole: true}, event: memberNeeds{whole: true}},
		{order: memberNeeds{names: []string{"fields", "nope"}}, event: memberNeeds{names: []string{"data", "raw"}}},
	} {
		got, gerr := encodeDoc(&n, o, ev, extra)
		want, werr := docReference(&n, o, ev, extra)
		if fmt.Sprint(gerr) != fmt.Sprint(werr) || string(got) != string(want) {
			t.Fatalf("needs %+v:\n got %s %v\nwant %s %v", n, got, gerr, want, werr)
		}
	}
}

// TestEncodeDocMatchesMarshal checks the document encoder against
// json.Marshal on the render fixtures and on values of every JSON kind,
// including strings that must be escaped and numbers JSON writes with an
// exponent.
func TestEncodeDocMatchesMarshal(t *testing.T) {
	for _, rc := range renderInputs(t) {
		o := rc.Order
		if o == nil {
			o = &model.Order{}
		}
		checkDoc(t, o, rc.Event, rc.Extra)
	}
	o, ev, _ := benchAckCase()
	o.ID = "<id & \"quoted\" \u2028 \xff>"
	o.Fields["n"] = model.Field{Value: map[string]any{"z": 1e21, "a": 1e-7, "m": -0.0, "i": 12, "nil": nil, "l": []any{}, "nl": []any(nil), "nm": map[string]any(nil)}}
	ev.Data = map[string]any{"t": time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "b": false, "u": uint8(3)}
	for _, extra := range []map[string]any{nil, {}, {"k<": "v>", "n": 3, "f": 2.5, "big": 1e300, "x": []any{"\t", map[string]any{"b": 1, "a": 2}}}} {
		checkDoc(t, o, ev, extra)
		checkDoc(t, &model.Order{}, nil, extra)
	}
	if _, err := encodeDoc(&docNeeds{}, o, ev, map[string]any{"nan": math.NaN()}); err == nil {
		t.Error("NaN in extra encoded without an error")
	}
}

// TestHasRender agrees with Renders for every shipped mapping.
func TestHasRender(t *testing.T) {
	set, err := Load(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range set.Names() {
		m := set.Get(name)
		for _, r := range m.Renders() {
			if !m.HasRender(r) {
				t.Errorf("%s: HasRender(%q) = false", name, r)
			}
		}
		if m.HasRender("no-such-render") {
			t.Errorf("%s: HasRender of an undeclared render", name)
		}
	}
	if !set.Get("emg").HasRender("ack") {
		t.Error("emg has no ack render")
	}
}
