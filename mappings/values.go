package mappings

import (
	"encoding/json"
	"strconv"

	"github.com/tidwall/gjson"
)

// omap is an ordered map built by each rules.
type omap struct {
	k []string
	v []any
}

func (o *omap) set(k string, v any) {
	for i, x := range o.k {
		if x == k {
			o.v[i] = v
			return
		}
	}
	o.k = append(o.k, k)
	o.v = append(o.v, v)
}

// MarshalJSON writes the map in insertion order.
func (o *omap) MarshalJSON() ([]byte, error) {
	if len(o.k) == 1 && o.k[0] == "." {
		return json.Marshal(plain(o.v[0]))
	}
	b := []byte{'{'}
	for i, k := range o.k {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, k)
		b = append(b, ':')
		vb, err := json.Marshal(plain(o.v[i]))
		if err != nil {
			return nil, err
		}
		b = append(b, vb...)
	}
	return append(b, '}'), nil
}

// plain turns runtime values into JSON-ready Go values.
func plain(v any) any {
	switch x := v.(type) {
	case gjson.Result:
		return x.Value()
	case []*omap:
		out := make([]any, len(x))
		for i, o := range x {
			if len(o.k) == 1 && o.k[0] == "." {
				out[i] = plain(o.v[0])
				continue
			}
			m := make(map[string]any, len(o.k))
			for j, k := range o.k {
				m[k] = plain(o.v[j])
			}
			out[i] = m
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = plain(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = plain(e)
		}
		return out
	}
	return v
}

func asArray(v any) []any {
	switch x := v.(type) {
	case []any:
		return x
	case gjson.Result:
		if x.IsArray() {
			arr := x.Array()
			out := make([]any, len(arr))
			for i, a := range arr {
				out[i] = a.Value()
			}
			return out
		}
	case []*omap:
		return plain(x).([]any)
	}
	return nil
}

func asResults(v any) []gjson.Result {
	switch x := v.(type) {
	case gjson.Result:
		if x.IsArray() {
			return x.Array()
		}
		return []gjson.Result{x}
	case []any:
		out := make([]gjson.Result, len(x))
		for i, a := range x {
			out[i] = gjson.Parse(mustJSON(a))
		}
		return out
	}
	return []gjson.Result{gjson.Parse(mustJSON(v))}
}

func mustJSON(v any) string {
	b, err := json.Marshal(plain(v))
	if err != nil {
		return "null"
	}
	return string(b)
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	case gjson.Result:
		return x.String()
	}
	return mustJSON(v)
}

func runtimeType(v any) string {
	switch x := v.(type) {
	case string:
		return tyString
	case float64:
		return tyNumber
	case bool:
		return tyBool
	case []any, []*omap:
		return tyArray
	case map[string]any:
		return tyObject
	case gjson.Result:
		if x.IsArray() {
			return tyArray
		}
		return tyObject
	}
	return tyAny
}

func runtimeTypeOK(in []string, v any) bool {
	rt := runtimeType(v)
	for _, t := range in {
		if t == rt {
			return true
		}
	}
	return false
}
