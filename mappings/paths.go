package mappings

import (
	"fmt"
	"net/textproto"
	"reflect"
	"strings"

	"github.com/equus/sogateway/internal/model"
	"github.com/tidwall/gjson"
)

// root says which document a source path reads.
type root uint8

const (
	rootItem     root = iota // the current element (the body, a split element, or an each element)
	rootBody                 // $root: the whole body
	rootHeaders              // $headers.<Name>
	rootParams               // $params.<name>
	rootSettings             // $settings.<name>
	rootMeta                 // $meta.protocol|route|operation|partner|index
	rootVars                 // vars.<name> in text renders
)

var rootNames = []string{"$root", "$headers", "$params", "$settings", "$meta"}

// source is a compiled input path.
type source struct {
	root root
	path string // gjson path or key
	text string // as written
	// slot, when > 0, is where the kind's one-pass prefetch puts this
	// source's value (top-level rules of a kind only; see prefetch).
	slot int
}

// prefetch is a trie of simple object paths (a.b.c) read by one kind's
// top-level rules. Translate walks the element once along the trie instead
// of scanning it once per rule.
type prefetch struct {
	slot int // > 0 when a source ends here
	kids map[string]*prefetch
	n    int // number of slots (root only)
}

// simplePath returns the keys of an object path a.b.c whose keys are plain
// names (see plainName) and not array indexes, or nil.
func simplePath(p string) []string {
	parts := strings.Split(p, ".")
	for _, c := range parts {
		if !plainName(c) || isDigits(c) {
			return nil
		}
	}
	return parts
}

// plainName reports whether c is a non-empty path component of letters,
// digits, '_' and '-', which gjson and sjson read as a key, nothing more.
func plainName(c string) bool {
	if c == "" {
		return false
	}
	for i := 0; i < len(c); i++ {
		ch := c[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_' || ch == '-') {
			return false
		}
	}
	return true
}

// add registers s in the trie and gives it a slot.
func (t *prefetch) add(s *source) {
	if s.root != rootItem {
		return
	}
	parts := simplePath(s.path)
	if parts == nil {
		return
	}
	n := t
	for _, p := range parts {
		if n.kids == nil {
			n.kids = map[string]*prefetch{}
		}
		c, ok := n.kids[p]
		if !ok {
			c = &prefetch{}
			n.kids[p] = c
		}
		n = c
	}
	if n.slot == 0 {
		t.n++
		n.slot = t.n
	}
	s.slot = n.slot
}

// walk fills slots[slot-1] for every trie path present in res (first
// occurrence wins, as gjson.Get does). It stops once every slot is filled.
func (t *prefetch) walk(res gjson.Result, slots []gjson.Result) {
	left := len(slots)
	t.walkN(res, slots, &left)
}

func (t *prefetch) walkN(res gjson.Result, slots []gjson.Result, left *int) {
	if !res.IsObject() {
		return
	}
	res.ForEach(func(k, v gjson.Result) bool {
		c := t.kids[k.Str]
		if c == nil {
			return true
		}
		if c.slot > 0 && !slots[c.slot-1].Exists() {
			slots[c.slot-1] = v
			*left--
		}
		if c.kids != nil {
			c.walkN(v, slots, left)
		}
		return *left > 0
	})
}

// validGJSONPath reports a syntax problem with a gjson path, or "".
func validGJSONPath(p string) string {
	if p == "" {
		return "empty path"
	}
	if strings.HasPrefix(p, ".") || strings.HasSuffix(p, ".") && !strings.HasSuffix(p, `\.`) {
		return "path must not start or end with '.'"
	}
	depthParen, depthBracket := 0, 0
	var quote bool
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == '\\':
			i++
		case quote:
			if c == '"' {
				quote = false
			}
		case c == '"':
			quote = true
		case c == '(':
			depthParen++
		case c == ')':
			depthParen--
			if depthParen < 0 {
				return "unbalanced ')'"
			}
		case c == '[':
			depthBracket++
		case c == ']':
			depthBracket--
			if depthBracket < 0 {
				return "unbalanced ']'"
			}
		case c == '.' && depthParen == 0 && depthBracket == 0 && i+1 < len(p) && (p[i+1] == '.' || p[i+1] == '|'):
			return "empty path component"
		case c == '@' && depthParen == 0 && (i == 0 || p[i-1] == '.' || p[i-1] == '|'):
			j := i + 1
			for j < len(p) && (p[j] >= 'a' && p[j] <= 'z' || p[j] >= 'A' && p[j] <= 'Z') {
				j++
			}
			name := p[i+1 : j]
			if name != "this" && !gjson.ModifierExists(name, nil) {
				return fmt.Sprintf("unknown modifier @%s", name)
			}
		}
	}
	if quote {
		return "unterminated string"
	}
	if depthParen != 0 {
		return "unbalanced '('"
	}
	if depthBracket != 0 {
		return "unbalanced '['"
	}
	return ""
}

// compileSource compiles an inbound input path. It returns an error message or "".
func compileSource(p string) (source, string) {
	s := source{text: p, path: p}
	if strings.HasPrefix(p, "$") {
		name, rest, _ := strings.Cut(p, ".")
		switch name {
		case "$root":
			s.root = rootBody
			if rest == "" {
				s.path = "@this"
				return s, ""
			}
			s.path = rest
		case "$headers", "$params", "$settings", "$meta":
			if rest == "" {
				return s, fmt.Sprintf("%s needs a name, e.g. %s.x", name, name)
			}
			s.path = rest
			switch name {
			case "$headers":
				s.root = rootHeaders
				s.path = textproto.CanonicalMIMEHeaderKey(rest)
			case "$params":
				s.root = rootParams
			case "$settings":
				s.root = rootSettings
			case "$meta":
				s.root = rootMeta
				switch rest {
				case "protocol", "route", "operation", "partner", "index":
				default:
					return s, fmt.Sprintf("unknown $meta name %q (known: protocol, route, operation, partner, index)%s", rest, hint(rest, []string{"protocol", "route", "operation", "partner", "index"}))
				}
			}
			return s, ""
		default:
			return s, fmt.Sprintf("unknown root %q%s", name, hint(name, rootNames))
		}
	}
	if msg := validGJSONPath(s.path); msg != "" {
		return s, fmt.Sprintf("invalid path %q: %s", p, msg)
	}
	return s, ""
}

// canonical document paths known to renders: order.*, event.* from the JSON
// tags of model.Order and model.Event, extra.* and vars.* free.
var canonicalTree = func() map[string]any {
	t := map[string]any{}
	t["order"] = jsonTree(reflect.TypeFor[model.Order](), 0)
	t["event"] = jsonTree(reflect.TypeFor[model.Event](), 0)
	t["extra"] = nil
	t["vars"] = nil
	return t
}()

// jsonTree returns a map of JSON names to subtrees; nil means free below.
func jsonTree(t reflect.Type, depth int) any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if depth > 4 {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if t.PkgPath() == "time" {
			return "leaf"
		}
		m := map[string]any{}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || name == "" {
				continue
			}
			m[name] = jsonTree(f.Type, depth+1)
		}
		return m
	case reflect.Slice:
		return []any{jsonTree(t.Elem(), depth+1)}
	case reflect.Map:
		return nil
	}
	return "leaf"
}

// checkCanonicalPath checks a render source path against the canonical
// document; it returns an error message (with a hint) or "".
func checkCanonicalPath(p string) string {
	if msg := validGJSONPath(p); msg != "" {
		return fmt.Sprintf("invalid path %q: %s", p, msg)
	}
	parts := strings.Split(p, ".")
	var node any = canonicalTree
	for i, part := range parts {
		switch n := node.(type) {
		case map[string]any:
			if strings.ContainsAny(part, "#*?@|()") {
				return ""
			}
			child, ok := n[part]
			if !ok {
				names := make([]string, 0, len(n))
				for k := range n {
					names = append(names, k)
				}
				where := strings.Join(parts[:i], ".")
				if where == "" {
					return fmt.Sprintf("unknown canonical root %q (known: order, event, extra, vars)%s", part, hint(part, names))
				}
				return fmt.Sprintf("unknown canonical field %q in %s%s", part, where, hint(part, names))
			}
			node = child
		case []any:
			if part == "#" || isDigits(part) || strings.HasPrefix(part, "#(") {
				node = n[0]
				continue
			}
			return fmt.Sprintf("%s is a list: use an index or # before %q", strings.Join(parts[:i], "."), part)
		case nil:
			return ""
		default:
			return fmt.Sprintf("%s is a value and has no field %q", strings.Join(parts[:i], "."), part)
		}
	}
	return ""
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
