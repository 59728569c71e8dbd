package model

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// jsonClone is how orders were copied before Order.Clone: a JSON round
// trip, Stored copied by hand. Clone must give the same order.
func jsonClone(o *Order) *Order {
	b, _ := json.Marshal(o)
	var c Order
	_ = json.Unmarshal(b, &c)
	c.Stored = o.Stored
	return &c
}

// fill sets every settable part of v to a non-zero value, recursively:
// strings, numbers, bools, times, pointers, slices and maps of two entries,
// and JSON values (nested lists and maps) in interfaces.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.String:
		v.SetString("s" + v.Type().Name())
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(3 + depth))
	case reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		fill(p.Elem(), depth+1)
		v.Set(p)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(time.Date(2026, 12, 2, 10, 0, depth, 5, time.UTC)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := 0; i < 2; i++ {
			fill(s.Index(i), depth+1)
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for _, k := range []string{"a", "b"} {
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, depth+1)
			m.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), e)
		}
		v.Set(m)
	case reflect.Interface:
		v.Set(reflect.ValueOf(map[string]any{"n": 2.5, "list": []any{"x", true, nil, map[string]any{"deep": []any{1.0}}}, "empty": []any{}}))
	}
}

// mutate changes every reachable value under v in place: strings, numbers,
// bools and times, the elements of slices, the entries of maps (and adds
// one), and the values behind pointers and interfaces. Whatever v shares
// with another value changes there too.
func mutate(v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(v.String() + "!")
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(v.Int() + 1)
	case reflect.Float64:
		v.SetFloat(v.Float() + 1)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Pointer:
		if !v.IsNil() {
			mutate(v.Elem())
		}
	case reflect.Struct:
		if t, ok := v.Interface().(time.Time); ok {
			v.Set(reflect.ValueOf(t.Add(time.Hour)))
			return
		}
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				mutate(v.Field(i))
			}
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			mutate(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			return
		}
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			mutate(e)
			v.SetMapIndex(k, e)
		}
		v.SetMapIndex(reflect.ValueOf("added!").Convert(v.Type().Key()), reflect.New(v.Type().Elem()).Elem())
	case reflect.Interface:
		if v.IsNil() {
			return
		}
		e := reflect.New(v.Elem().Type()).Elem()
		e.Set(v.Elem())
		mutate(e)
		v.Set(e)
	}
}

// checkClone checks that o.Clone() equals the JSON round trip of o and
// that changing everything in the copy leaves o as it was.
func checkClone(t *testing.T, o *Order) {
	t.Helper()
	before, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	stored := o.Stored
	c := o.Clone()
	if want := jsonClone(o); !reflect.DeepEqual(c, want) {
		t.Fatalf("Clone differs from the JSON round trip:\n got %#v\nwant %#v", c, want)
	}
	mutate(reflect.ValueOf(c).Elem())
	c.Stored.Messages++
	after, _ := json.Marshal(o)
	if string(after) != string(before) || o.Stored != stored {
		t.Fatalf("changing the copy changed the original:\nbefore %s\n after %s", before, after)
	}
	if changed, _ := json.Marshal(c); string(changed) == string(before) {
		t.Fatal("mutate changed nothing")
	}
}

// TestOrderCloneEveryField fills every field of an order (and of its
// fields, tasks, messages, attachments, assignment …) with a value, as
// the store would decode it, and checks Clone against the JSON round trip
// and for sharing: a field added to the order later is covered as well.
func TestOrderCloneEveryField(t *testing.T) {
	var o Order
	fill(reflect.ValueOf(&o).Elem(), 0)
	if o.Stored.Messages == 0 || o.Assignment == nil || len(o.Tasks[0].Fields) == 0 {
		t.Fatalf("fill left parts empty: %+v", o)
	}
	decoded := jsonClone(&o) // values as the store decodes them
	checkClone(t, decoded)

	// Empty lists and maps become nil, as omitempty leaves them.
	empty := &Order{Flags: []Flag{}, Fields: map[string]Field{}, Tasks: []Task{{Name: "t", Fields: map[string]any{}}},
		Writers: map[string]string{}, Messages: []Message{}, Attachments: []Attachment{}}
	checkClone(t, empty)
	if c := empty.Clone(); c.Flags != nil || c.Fields != nil || c.Writers != nil || c.Tasks[0].Fields != nil {
		t.Errorf("empty lists and maps kept: %+v", c)
	}
	// Values that are not JSON's own types take JSON's types, as before.
	inMemory := &Order{Partner: "p", Fields: map[string]Field{
		"n":    {Value: 3},
		"list": {Value: []string{"a"}},
		"at":   {Value: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
		"m":    {Value: map[string]int{"a": 1}},
		"nest": {Value: []any{int64(2), map[string]any{"x": uint8(1)}}},
	}}
	c := inMemory.Clone()
	if !reflect.DeepEqual(c, jsonClone(inMemory)) {
		t.Errorf("in-memory values: got %#v, want %#v", c.Fields, jsonClone(inMemory).Fields)
	}
}

// FuzzOrderClone decodes random JSON into an order, as the store does, and
// checks Clone against the JSON round trip and for sharing.
func FuzzOrderClone(f *testing.F) {
	var o Order
	fill(reflect.ValueOf(&o).Elem(), 0)
	full, _ := json.Marshal(&o)
	f.Add(string(full), 1, 2)
	f.Add(`{"id":"o","fields":{"a":{"value":[1,{"b":null,"c":[]}]}},"tasks":[{"name":"t","fields":{"x":{}}}]}`, 0, 0)
	f.Add(`{"flags":[],"writers":{},"assignment":{},"accepted_at":"2026-01-02T03:04:05+02:00"}`, 3, 0)
	f.Fuzz(func(t *testing.T, doc string, msgs, atts int) {
		var o Order
		if json.Unmarshal([]byte(doc), &o) != nil {
			return
		}
		o.Stored = HistoryCount{Messages: msgs, Attachments: atts}
		checkClone(t, &o)
	})
}

// BenchmarkOrderClone compares Clone with the JSON round trip it replaced,
// on an order as the store decodes it with every field set.
func BenchmarkOrderClone(b *testing.B) {
	var filled Order
	fill(reflect.ValueOf(&filled).Elem(), 0)
	o := jsonClone(&filled)
	b.Run("clone", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o.Clone()
		}
	})
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			jsonClone(o)
		}
	})
}
