package model

import "encoding/json"

// Clone returns a deep copy of o: changing the copy (its fields, tasks,
// messages, maps, pointers) leaves o as it was. For an order as the store
// decodes it, the copy equals what encoding o as JSON and decoding it again
// gives (with Stored copied too), without the encoding: empty lists and
// maps stay nil, as omitempty leaves them. A field or task value that is
// not one of JSON's own types (string, float64, bool, nil, []any,
// map[string]any), which only an order built in memory holds, becomes
// what a JSON round trip makes of it.
func (o *Order) Clone() *Order {
	c := *o
	c.Flags = cloneSlice(o.Flags)
	if len(o.Fields) > 0 {
		c.Fields = make(map[string]Field, len(o.Fields))
		for k, f := range o.Fields {
			f.Value = cloneValue(f.Value)
			c.Fields[k] = f
		}
	} else {
		c.Fields = nil
	}
	if len(o.Tasks) > 0 {
		c.Tasks = make([]Task, len(o.Tasks))
		for i, t := range o.Tasks {
			t.Fields = cloneValues(t.Fields)
			c.Tasks[i] = t
		}
	} else {
		c.Tasks = nil
	}
	c.Attachments = cloneSlice(o.Attachments)
	c.Messages = cloneSlice(o.Messages)
	if o.Assignment != nil {
		a := *o.Assignment
		c.Assignment = &a
	}
	if o.AcceptedAt != nil {
		t := *o.AcceptedAt
		c.AcceptedAt = &t
	}
	if len(o.Writers) > 0 {
		c.Writers = make(map[string]string, len(o.Writers))
		for k, v := range o.Writers {
			c.Writers[k] = v
		}
	} else {
		c.Writers = nil
	}
	return &c
}

// cloneSlice copies a list of plain values; an empty one becomes nil.
func cloneSlice[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return append([]T(nil), s...)
}

// cloneValues deep-copies a map of JSON values; an empty one becomes nil.
func cloneValues(m map[string]any) map[string]any {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = cloneValue(v)
	}
	return out
}

// cloneValue deep-copies a JSON value (string, float64, bool, nil, []any,
// map[string]any, nested). Any other value is copied through a JSON round
// trip, so the copy has JSON's types; one that cannot be encoded is returned
// as it is (encoding the order fails on it later, as it would have).
func cloneValue(v any) any {
	switch x := v.(type) {
	case nil, string, float64, bool:
		return x
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = cloneValue(e)
		}
		return out
	}
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return v
	}
	return out
}
