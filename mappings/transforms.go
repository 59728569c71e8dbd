package mappings

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
)

// ctransform is a compiled transform.
type ctransform struct {
	name string
	in   []string
	// str, when set, is the string -> string form of fn (the allocation-free fast path).
	str func(e *env, r *crule, s string) (string, error)
	fn  func(e *env, r *crule, v any) (any, error)
}

type tdef struct {
	in  []string // accepted input types; nil: any
	out string   // "" keeps the input type
	arg string   // "", "int", "string", "object", "string|object"
}

var transforms = map[string]tdef{
	"trim":              {in: []string{tyString}},
	"upper":             {in: []string{tyString}},
	"lower":             {in: []string{tyString}},
	"truncate":          {in: []string{tyString}, arg: "int"},
	"default":           {arg: "any"},
	"map":               {in: []string{tyString}, out: tyString, arg: "string"},
	"unmap":             {in: []string{tyString}, out: tyString, arg: "string"},
	"time":              {in: []string{tyString}, out: tyString, arg: "string|object"},
	"epoch":             {in: []string{tyNumber}, out: tyString, arg: "string"},
	"format_time":       {in: []string{tyString}, out: tyString, arg: "string|object"},
	"to_string":         {out: tyString},
	"to_number":         {in: []string{tyString, tyNumber}, out: tyNumber},
	"split":             {in: []string{tyString}, out: tyArray, arg: "string"},
	"join":              {in: []string{tyArray}, out: tyString, arg: "string"},
	"first":             {in: []string{tyArray}, out: tyAny},
	"humanize_duration": {in: []string{tyNumber}, out: tyString},
	"prefix":            {in: []string{tyString}, arg: "string"},
	"strip_lines":       {in: []string{tyString}, arg: "string"},
	"pluck":             {in: []string{tyObject, tyArray}, arg: "string"},
}

func (c *compiler) compileTransform(t Transform, cur string) (*ctransform, string) {
	def, ok := transforms[t.Name]
	if !ok {
		c.errPos(t.Pos, "unknown transform %q%s", t.Name, hint(t.Name, keys(transforms)))
		return nil, tyAny
	}
	if def.in != nil && cur != tyAny && !containsCompat(def.in, cur) {
		c.errPos(t.Pos, "type mismatch: %s needs a %s, got a %s", t.Name, strings.Join(def.in, " or "), cur)
	}
	out := def.out
	if out == "" {
		out = cur
	}
	argStr, isStr := t.Arg.(string)
	argMap, isMap := t.Arg.(map[string]any)
	switch def.arg {
	case "":
		if t.Arg != nil {
			c.errPos(t.Pos, "%s takes no argument", t.Name)
		}
	case "int":
		if _, ok := t.Arg.(int); !ok {
			c.errPos(t.Pos, "%s needs a whole number, e.g. {%s: 160}", t.Name, t.Name)
			return nil, out
		}
	case "string":
		if !isStr {
			c.errPos(t.Pos, "%s needs a string argument", t.Name)
			return nil, out
		}
	case "string|object":
		if !isStr && !isMap {
			c.errPos(t.Pos, "%s needs a layout or {layout, zone, format}", t.Name)
			return nil, out
		}
	}
	ct := &ctransform{name: t.Name, in: def.in}
	switch t.Name {
	case "trim":
		ct.str = func(_ *env, _ *crule, s string) (string, error) { return strings.TrimSpace(s), nil }
	case "upper":
		ct.str = func(_ *env, _ *crule, s string) (string, error) { return strings.ToUpper(s), nil }
	case "lower":
		ct.str = func(_ *env, _ *crule, s string) (string, error) { return strings.ToLower(s), nil }
	case "pluck":
		ct.fn = func(_ *env, _ *crule, v any) (any, error) {
			res, ok := v.(gjson.Result)
			if !ok {
				return v, nil
			}
			if res.IsArray() {
				out := []any{}
				for _, el := range res.Array() {
					out = append(out, el.Get(argStr).Value())
				}
				return out, nil
			}
			out := map[string]any{}
			res.ForEach(func(k, el gjson.Result) bool {
				out[k.String()] = el.Get(argStr).Value()
				return true
			})
			return out, nil
		}
	case "strip_lines":
		re, err := regexp.Compile(argStr)
		if err != nil {
			c.errPos(t.Pos, "strip_lines: invalid regexp: %v", err)
			return nil, out
		}
		ct.str = func(_ *env, _ *crule, v string) (string, error) {
			lines := strings.Split(v, "\n")
			kept := lines[:0]
			for _, l := range lines {
				if !re.MatchString(l) {
					kept = append(kept, l)
				}
			}
			return strings.Join(kept, "\n"), nil
		}
	case "prefix":
		ct.str = func(_ *env, _ *crule, s string) (string, error) { return argStr + s, nil }
	case "truncate":
		n := t.Arg.(int)
		if n <= 0 {
			c.errPos(t.Pos, "truncate needs a positive length")
		}
		ct.str = func(e *env, r *crule, s string) (string, error) {
			if utf8Len(s) <= n {
				return s, nil
			}
			e.warn(fmt.Sprintf("%s: truncated from %d to %d characters (%s)", e.pathOf(r), utf8Len(s), n, r.where))
			return truncateRunes(s, n), nil
		}
	case "default":
		d := normConst(t.Arg)
		ct.fn = func(_ *env, _ *crule, v any) (any, error) {
			if v == nil || v == "" {
				return d, nil
			}
			return v, nil
		}
	case "map", "unmap":
		cm, ok := c.maps[argStr]
		if !ok {
			c.errPos(t.Pos, "unknown map %q%s", argStr, hint(argStr, keys(c.maps)))
			return nil, out
		}
		rev := t.Name == "unmap"
		ct.str = func(_ *env, _ *crule, s string) (string, error) {
			var r string
			var ok bool
			if rev {
				r, ok = cm.rev[s]
			} else {
				key := s
				if cm.ignoreCase {
					key = strings.ToLower(s)
				}
				r, ok = cm.fwd[key]
			}
			if ok {
				return r, nil
			}
			if cm.def != nil {
				return *cm.def, nil
			}
			known := cm.known
			if rev {
				known = keys(cm.rev)
			}
			return "", fmt.Errorf("value %q is not in map %s (known: %s)", s, cm.name, strings.Join(known, ", "))
		}
	case "time", "format_time":
		layouts, zone, format := []string{argStr}, time.UTC, time.RFC3339
		if isMap {
			layouts = nil
			for k, v := range argMap {
				switch k {
				case "layout":
					s, _ := v.(string)
					layouts = append(layouts, s)
				case "layouts":
					l, _ := v.([]any)
					for _, x := range l {
						s, _ := x.(string)
						layouts = append(layouts, s)
					}
				case "zone":
					s, _ := v.(string)
					loc, err := time.LoadLocation(s)
					if err != nil {
						c.errPos(t.Pos, "%s: unknown zone %q", t.Name, s)
					} else {
						zone = loc
					}
				case "format":
					s, _ := v.(string)
					format = s
				default:
					c.errPos(t.Pos, "%s: unknown key %q (known: layout, layouts, zone, format)%s", t.Name, k, hint(k, []string{"layout", "layouts", "zone", "format"}))
				}
			}
		}
		for i, l := range layouts {
			layouts[i] = namedLayout(l)
			if msg := layoutProblem(l); msg != "" {
				c.errPos(t.Pos, "%s: %s", t.Name, msg)
			}
		}
		if msg := layoutProblem(format); msg != "" && isMap {
			c.errPos(t.Pos, "%s: format: %s", t.Name, msg)
		}
		format = namedLayout(format)
		if t.Name == "format_time" {
			// format_time reads RFC 3339 and writes layout (the string argument) in zone.
			if isStr {
				format = namedLayout(argStr)
			} else if len(layouts) > 0 {
				format = layouts[0]
			}
			ct.str = func(_ *env, _ *crule, v string) (string, error) {
				tm, err := time.Parse(time.RFC3339Nano, v)
				if err != nil {
					return "", fmt.Errorf("%q is not an RFC 3339 time", v)
				}
				return tm.In(zone).Format(format), nil
			}
			break
		}
		if len(layouts) == 0 || layouts[0] == "" {
			c.errPos(t.Pos, "time needs a layout")
		}
		ct.str = func(_ *env, _ *crule, v string) (string, error) {
			s := strings.TrimSpace(v)
			for _, l := range layouts {
				if tm, err := parseTime(l, s, zone); err == nil {
					return tm.UTC().Format(format), nil
				}
			}
			return "", fmt.Errorf("%q does not match the layout %q", s, layouts[0])
		}
	case "epoch":
		switch argStr {
		case "s", "ms", "auto":
		default:
			c.errPos(t.Pos, "epoch takes s, ms or auto, got %q", argStr)
		}
		ct.fn = func(_ *env, _ *crule, v any) (any, error) { return epochString(v.(float64), argStr), nil }
	case "to_string":
		ct.fn = func(_ *env, _ *crule, v any) (any, error) { return toString(v), nil }
		ct.str = func(_ *env, _ *crule, s string) (string, error) { return s, nil }
	case "to_number":
		ct.fn = func(_ *env, _ *crule, v any) (any, error) {
			switch x := v.(type) {
			case float64:
				return x, nil
			case string:
				f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
				if err != nil {
					return nil, fmt.Errorf("%q is not a number", x)
				}
				return f, nil
			}
			return nil, fmt.Errorf("%v is not a number", v)
		}
	case "split":
		ct.fn = func(_ *env, _ *crule, v any) (any, error) {
			parts := strings.Split(v.(string), argStr)
			out := make([]any, 0, len(parts))
			for _, p := range parts {
				if p = strings.TrimSpace(p); p != "" {
					out = append(out, p)
				}
			}
			return out, nil
		}
	case "join":
		ct.fn = func(_ *env, _ *crule, v any) (any, error) {
			arr := asArray(v)
			s := make([]string, len(arr))
			for i, x := range arr {
				s[i] = toString(x)
			}
			return strings.Join(s, argStr), nil
		}
	case "first":
		ct.fn = func(_ *env, _ *crule, v any) (any, error) {
			if arr := asArray(v); len(arr) > 0 {
				return arr[0], nil
			}
			return nil, nil
		}
	case "humanize_duration":
		ct.fn = func(_ *env, _ *crule, v any) (any, error) { return humanize(v.(float64)), nil }
	}
	if ct.str != nil && ct.fn == nil {
		str := ct.str
		ct.fn = func(e *env, r *crule, v any) (any, error) {
			s, err := str(e, r, v.(string))
			if err != nil {
				return nil, err
			}
			return s, nil
		}
	}
	return ct, out
}

func containsCompat(list []string, t string) bool {
	for _, x := range list {
		if compatible(t, x) && !(x == tyString && t == tyNumber) {
			return true
		}
	}
	return false
}

// layoutNameRE matches what can only be meant as a layout name (rfc3339z),
// never a Go layout.
var layoutNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// layoutNames are the named time layouts (namedLayout).
var layoutNames = []string{"rfc3339", "rfc3339nano", "rfc1123z", "date", "datetime"}

// layoutProblem says why l is neither a named layout nor a Go layout, or "".
// A Go layout holds at least one element of the reference time, so one that
// formats another time than the reference time to itself, or one written
// like a name, is a misspelt name (or not a layout at all).
func layoutProblem(l string) string {
	if l == "" {
		return "a time layout is required"
	}
	if namedLayout(l) != l {
		return ""
	}
	other := time.Date(1999, 11, 28, 23, 58, 59, 987654321, time.FixedZone("X", 3*3600))
	if layoutNameRE.MatchString(l) || other.Format(l) == l {
		return fmt.Sprintf("unknown time layout %q (named: %s; or a Go layout such as 2006-01-02 15:04)%s", l, strings.Join(layoutNames, ", "), hint(strings.ToLower(l), layoutNames))
	}
	return ""
}

func namedLayout(l string) string {
	switch strings.ToLower(l) {
	case "rfc3339":
		return time.RFC3339
	case "rfc3339nano":
		return time.RFC3339Nano
	case "rfc1123z":
		return time.RFC1123Z
	case "date":
		return time.DateOnly
	case "datetime":
		return time.DateTime
	}
	return l
}

// parseTime parses s with layout in zone; offsets written with one digit
// ("+0", "-5", as Pruvan sends them) are accepted where the layout has -07.
func parseTime(layout, s string, zone *time.Location) (time.Time, error) {
	if strings.HasSuffix(layout, "-07") && shortOffset(s) {
		s = s[:len(s)-1] + "0" + s[len(s)-1:]
	}
	return time.ParseInLocation(layout, s, zone)
}

// shortOffset reports whether s ends with a one-digit zone offset such as "+0" or "-5".
func shortOffset(s string) bool {
	n := len(s)
	return n >= 3 && s[n-1] >= '0' && s[n-1] <= '9' && (s[n-2] == '+' || s[n-2] == '-') && s[n-3] == ' '
}

func epochString(f float64, unit string) string {
	var tm time.Time
	switch {
	case unit == "ms" || unit == "auto" && math.Abs(f) >= 1e11:
		tm = time.UnixMilli(int64(f))
	default:
		sec, frac := math.Modf(f)
		tm = time.Unix(int64(sec), int64(frac*1e9))
	}
	return tm.UTC().Format(time.RFC3339Nano)
}

func humanize(sec float64) string {
	d := time.Duration(sec) * time.Second
	if d <= 0 {
		return "0 minutes"
	}
	h := int(d.Hours())
	m := int(d.Minutes()) % 60
	plural := func(n int, unit string) string {
		if n == 1 {
			return "1 " + unit
		}
		return strconv.Itoa(n) + " " + unit + "s"
	}
	switch {
	case h > 0 && m > 0:
		return plural(h, "hour") + " " + plural(m, "minute")
	case h > 0:
		return plural(h, "hour")
	}
	return plural(max(m, 1), "minute")
}

func utf8Len(s string) int {
	n := 0
	for range s {
		n++
	}
	return n
}

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}
