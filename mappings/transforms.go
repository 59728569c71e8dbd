package mappings

import (
	"fmt"
	"math"
	"regexp"
	"slices"
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

// transformDef is one transform of a rule's `do` list: the input types it
// accepts, the type it yields, its argument, the text docs/mappings.md
// gives it, and the builder that compiles one use of it.
type transformDef struct {
	// in lists the accepted input types; nil accepts any.
	in []string
	// out is the type it yields; "" keeps the input type.
	out string
	// arg is the argument it takes: "" (none), "int", "string", "any" or
	// "string|object"; usage shows how it is written in a rule, usage2 the
	// other way to write it, if any.
	arg    string
	usage  string
	usage2 string
	// doc says what it does, as the transforms table of docs/mappings.md says it.
	doc string
	// build sets ct.str (a string -> string transform) or ct.fn from the
	// rule's use t; it reports errors with c.errPos and returns false when
	// the use cannot be compiled at all.
	build func(c *compiler, t Transform, ct *ctransform) bool
}

// transforms is the registry of transforms, by the name a rule writes.
// docs/mappings.md has one row per entry (TestTransformsDocumented).
var transforms = map[string]transformDef{
	"trim": {in: []string{tyString}, usage: "trim", doc: "remove leading and trailing white space",
		build: strTransform(strings.TrimSpace)},
	"upper": {in: []string{tyString}, usage: "upper", doc: "upper case",
		build: strTransform(strings.ToUpper)},
	"lower": {in: []string{tyString}, usage: "lower", doc: "lower case",
		build: strTransform(strings.ToLower)},
	"truncate": {in: []string{tyString}, arg: "int", usage: "{truncate: N}",
		doc: "cut to N characters and record a warning on the event", build: buildTruncate},
	"default": {arg: "any", usage: "{default: V}", doc: `V when the value is null or ""`, build: buildDefault},
	"map": {in: []string{tyString}, out: tyString, arg: "string", usage: "{map: NAME}",
		doc: "through the value map NAME (section 4), partner value to canonical", build: buildMap},
	"unmap": {in: []string{tyString}, out: tyString, arg: "string", usage: "{unmap: NAME}",
		doc: "through the value map NAME in reverse, canonical value to partner", build: buildMap},
	"time": {in: []string{tyString}, out: tyString, arg: "string|object",
		usage: "{time: LAYOUT}", usage2: "{time: {layouts: [..], zone: Europe/Paris, format: rfc3339}}",
		doc:   "parse with Go layouts (`2006-01-02 1504 -07`; one-digit offsets like `+0` are accepted), write RFC 3339 UTC (or `format`)",
		build: buildTime},
	"format_time": {in: []string{tyString}, out: tyString, arg: "string|object",
		usage: "{format_time: LAYOUT}", usage2: "{format_time: {layout, zone}}", doc: "RFC 3339 to another layout, in zone (default UTC)",
		build: buildTime},
	"epoch": {in: []string{tyNumber}, out: tyString, arg: "string", usage: "{epoch: s|ms|auto}",
		doc: "epoch seconds or milliseconds (auto: milliseconds from 1e11 up) to RFC 3339 UTC", build: buildEpoch},
	"to_string": {out: tyString, usage: "to_string", doc: "any value to its text", build: buildToString},
	"to_number": {in: []string{tyString, tyNumber}, out: tyNumber, usage: "to_number",
		doc: "a number, or a string holding one, to a number", build: buildToNumber},
	"split": {in: []string{tyString}, out: tyArray, arg: "string", usage: "{split: SEP}",
		doc: "split at SEP, trim each part, drop empty parts", build: buildSplit},
	"join": {in: []string{tyArray}, out: tyString, arg: "string", usage: "{join: SEP}",
		doc: "join the members' text with SEP", build: buildJoin},
	"first": {in: []string{tyArray}, out: tyAny, usage: "first", doc: "the first member (null for an empty array)",
		build: buildFirst},
	"humanize_duration": {in: []string{tyNumber}, out: tyString, usage: "humanize_duration",
		doc: `a number of seconds as "2 hours 5 minutes"`, build: buildHumanize},
	"prefix": {in: []string{tyString}, arg: "string", usage: "{prefix: TEXT}", doc: "TEXT before the value",
		build: buildPrefix},
	"strip_lines": {in: []string{tyString}, arg: "string", usage: "{strip_lines: REGEXP}",
		doc: "drop the lines that match (e.g. email tag lines from a message text)", build: buildStripLines},
	"pluck": {in: []string{tyObject, tyArray}, arg: "string", usage: "{pluck: KEY}",
		doc: "take KEY of every member (`order.fields` → `{name: value}` with `{pluck: value}`)", build: buildPluck},
}

// transformNames returns the registered transform names, sorted.
func transformNames() []string {
	names := keys(transforms)
	slices.Sort(names)
	return names
}

// compileTransform compiles one use t of a transform applied to a value of
// type cur, and returns it with the type it yields.
func (c *compiler) compileTransform(t Transform, cur string) (*ctransform, string) {
	def, ok := transforms[t.Name]
	if !ok {
		c.errPos(t.Pos, "unknown transform %q%s", t.Name, hint(t.Name, transformNames()))
		return nil, tyAny
	}
	if def.in != nil && cur != tyAny && !containsCompat(def.in, cur) {
		c.errPos(t.Pos, "type mismatch: %s needs a %s, got a %s", t.Name, strings.Join(def.in, " or "), cur)
	}
	out := def.out
	if out == "" {
		out = cur
	}
	_, isStr := t.Arg.(string)
	_, isMap := t.Arg.(map[string]any)
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
	if !def.build(c, t, ct) {
		return nil, out
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

// strTransform builds a transform from a plain string function.
func strTransform(f func(string) string) func(*compiler, Transform, *ctransform) bool {
	return func(_ *compiler, _ Transform, ct *ctransform) bool {
		ct.str = func(_ *env, _ *crule, s string) (string, error) { return f(s), nil }
		return true
	}
}

func buildTruncate(c *compiler, t Transform, ct *ctransform) bool {
	n := t.Arg.(int)
	if n <= 0 {
		c.errPos(t.Pos, "truncate needs a positive length")
	}
	ct.str = func(e *env, r *crule, s string) (string, error) {
		if utf8Len(s) <= n {
			return s, nil
		}
		// The warning reaches the partner (EMG's Ack) and the platform
		// (the event): the rule's file and line stay in --explain's trace.
		e.warn(fmt.Sprintf("%s: truncated from %d to %d characters", e.pathOf(r), utf8Len(s), n))
		return truncateRunes(s, n), nil
	}
	return true
}

func buildDefault(_ *compiler, t Transform, ct *ctransform) bool {
	d := normConst(t.Arg)
	ct.fn = func(_ *env, _ *crule, v any) (any, error) {
		if v == nil || v == "" {
			return d, nil
		}
		return v, nil
	}
	return true
}

func buildMap(c *compiler, t Transform, ct *ctransform) bool {
	name := t.Arg.(string)
	cm, ok := c.maps[name]
	if !ok {
		c.errPos(t.Pos, "unknown map %q%s", name, hint(name, keys(c.maps)))
		return false
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
	return true
}

// buildTime builds time (parse with layouts, write RFC 3339 UTC or format)
// and format_time (read RFC 3339, write the layout in zone).
func buildTime(c *compiler, t Transform, ct *ctransform) bool {
	argStr, isStr := t.Arg.(string)
	argMap, isMap := t.Arg.(map[string]any)
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
		return true
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
		return "", fmt.Errorf("%q is not a time of the form %s", s, readableLayout(layouts[0]))
	}
	return true
}

func buildEpoch(c *compiler, t Transform, ct *ctransform) bool {
	unit := t.Arg.(string)
	switch unit {
	case "s", "ms", "auto":
	default:
		c.errPos(t.Pos, "epoch takes s, ms or auto, got %q", unit)
	}
	ct.fn = func(_ *env, _ *crule, v any) (any, error) { return epochString(v.(float64), unit), nil }
	return true
}

func buildToString(_ *compiler, _ Transform, ct *ctransform) bool {
	ct.fn = func(_ *env, _ *crule, v any) (any, error) { return toString(v), nil }
	ct.str = func(_ *env, _ *crule, s string) (string, error) { return s, nil }
	return true
}

func buildToNumber(_ *compiler, _ Transform, ct *ctransform) bool {
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
	return true
}

func buildSplit(_ *compiler, t Transform, ct *ctransform) bool {
	sep := t.Arg.(string)
	ct.fn = func(_ *env, _ *crule, v any) (any, error) {
		parts := strings.Split(v.(string), sep)
		out := make([]any, 0, len(parts))
		for _, p := range parts {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out, nil
	}
	return true
}

func buildJoin(_ *compiler, t Transform, ct *ctransform) bool {
	sep := t.Arg.(string)
	ct.fn = func(_ *env, _ *crule, v any) (any, error) {
		arr := asArray(v)
		s := make([]string, len(arr))
		for i, x := range arr {
			s[i] = toString(x)
		}
		return strings.Join(s, sep), nil
	}
	return true
}

func buildFirst(_ *compiler, _ Transform, ct *ctransform) bool {
	ct.fn = func(_ *env, _ *crule, v any) (any, error) {
		if arr := asArray(v); len(arr) > 0 {
			return arr[0], nil
		}
		return nil, nil
	}
	return true
}

func buildHumanize(_ *compiler, _ Transform, ct *ctransform) bool {
	ct.fn = func(_ *env, _ *crule, v any) (any, error) { return humanize(v.(float64)), nil }
	return true
}

func buildPrefix(_ *compiler, t Transform, ct *ctransform) bool {
	p := t.Arg.(string)
	ct.str = func(_ *env, _ *crule, s string) (string, error) { return p + s, nil }
	return true
}

func buildStripLines(c *compiler, t Transform, ct *ctransform) bool {
	re, err := regexp.Compile(t.Arg.(string))
	if err != nil {
		c.errPos(t.Pos, "strip_lines: invalid regexp: %v", err)
		return false
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
	return true
}

func buildPluck(_ *compiler, t Transform, ct *ctransform) bool {
	key := t.Arg.(string)
	ct.fn = func(_ *env, _ *crule, v any) (any, error) {
		res, ok := v.(gjson.Result)
		if !ok {
			return v, nil
		}
		if res.IsArray() {
			out := []any{}
			for _, el := range res.Array() {
				out = append(out, el.Get(key).Value())
			}
			return out, nil
		}
		out := map[string]any{}
		res.ForEach(func(k, el gjson.Result) bool {
			out[k.String()] = el.Get(key).Value()
			return true
		})
		return out, nil
	}
	return true
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

// layoutWords spells Go's reference-time tokens as partners read them, longest
// first so that "2006" is not read as "20" and "06".
var layoutWords = strings.NewReplacer(
	"Z07:00", "±hh:mm", "-07:00", "±hh:mm", "Z0700", "±hhmm", "-0700", "±hhmm", "-07", "±hh",
	"2006", "YYYY", "January", "month", "Monday", "weekday", "Jan", "Mon", "MST", "zone",
	".000", ".sss", "15", "hh", "01", "MM", "02", "DD", "04", "mm", "05", "ss", "PM", "AM/PM", "06", "YY",
)

// readableLayout turns a Go time layout into the pattern a partner's error
// shows: "2006-01-02 1504 -0700" reads "YYYY-MM-DD hhmm ±hhmm".
func readableLayout(layout string) string { return layoutWords.Replace(layout) }
