package mappings

import (
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/equus/sogateway/internal/editdist"

	"gopkg.in/yaml.v3"
)

// LoadError is one problem found while loading a mapping, at a position in its file.
type LoadError struct {
	File string
	Line int
	Col  int
	Msg  string
}

// Error returns "file:line:col: message".
func (e *LoadError) Error() string { return posString(e.File, e.Line, e.Col) + ": " + e.Msg }

func posString(file string, line, col int) string {
	return file + ":" + strconv.Itoa(line) + ":" + strconv.Itoa(col)
}

// LoadErrors lists every problem found by Load, sorted by file and position.
// Each prints as "file:line:col: message".
type LoadErrors []*LoadError

// Error returns one error per line.
func (es LoadErrors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

func (es LoadErrors) sort() {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// decoder decodes yaml.Nodes into Spec types strictly: unknown keys, wrong
// node kinds and bad scalars are errors with positions, and the position of
// every key's value is remembered for the compiler.
type decoder struct {
	file string
	errs LoadErrors
	keys map[any]map[string]Pos
}

func (d *decoder) errAt(n *yaml.Node, format string, a ...any) {
	d.errs = append(d.errs, &LoadError{File: d.file, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, a...)})
}

func (d *decoder) errPos(p Pos, format string, a ...any) {
	d.errs = append(d.errs, &LoadError{File: d.file, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, a...)})
}

func (d *decoder) pos(n *yaml.Node) Pos { return Pos{File: d.file, Line: n.Line, Col: n.Column} }

// at returns the position of key's value in the struct s (a pointer), or def.
func (d *decoder) at(s any, key string, def Pos) Pos {
	if m, ok := d.keys[s]; ok {
		if p, ok := m[key]; ok {
			return p
		}
	}
	return def
}

// mapAt returns the position of the value of key in a decoded map m, or def.
func (d *decoder) mapAt(m any, key string, def Pos) Pos {
	v := reflect.ValueOf(m)
	if v.Kind() != reflect.Map || v.IsNil() {
		return def
	}
	return d.at(v.UnsafePointer(), key, def)
}

var (
	posType       = reflect.TypeFor[Pos]()
	transformType = reflect.TypeFor[Transform]()
	listType      = reflect.TypeFor[StringList]()
)

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "a node"
}

func typeLabel(t reflect.Type) string {
	name := t.Name()
	var b strings.Builder
	for i, r := range name {
		if i > 0 && r >= 'A' && r <= 'Z' && !(name[i-1] >= 'A' && name[i-1] <= 'Z') {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return strings.ToLower(b.String())
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	t := v.Type()
	switch t {
	case transformType:
		d.decodeTransform(n, v.Addr().Interface().(*Transform))
		return
	case listType:
		switch n.Kind {
		case yaml.ScalarNode:
			v.Set(reflect.ValueOf(StringList{n.Value}))
			return
		case yaml.SequenceNode:
			out := make(StringList, 0, len(n.Content))
			for _, c := range n.Content {
				if c.Kind != yaml.ScalarNode {
					d.errAt(c, "expected a path, got %s", kindName(c))
					continue
				}
				out = append(out, c.Value)
			}
			v.Set(reflect.ValueOf(out))
			return
		}
		d.errAt(n, "expected a path or a list of paths, got %s", kindName(n))
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		p := reflect.New(t.Elem())
		d.decode(n, p.Elem())
		v.Set(p)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.errAt(n, "%v", err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			d.errAt(n, "expected a %s (a mapping), got %s", typeLabel(t), kindName(n))
			return
		}
		if f := v.FieldByName("Pos"); f.IsValid() && f.Type() == posType {
			f.Set(reflect.ValueOf(d.pos(n)))
		}
		fields := map[string]int{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			tag := t.Field(i).Tag.Get("yaml")
			if tag == "" || tag == "-" {
				continue
			}
			fields[tag] = i
			names = append(names, tag)
		}
		keyPos := map[string]Pos{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			idx, ok := fields[k.Value]
			if !ok {
				d.errAt(k, "unknown key %q in %s%s", k.Value, typeLabel(t), hint(k.Value, names))
				continue
			}
			if _, dup := keyPos[k.Value]; dup {
				d.errAt(k, "duplicate key %q", k.Value)
				continue
			}
			keyPos[k.Value] = d.pos(val)
			d.decode(val, v.Field(idx))
		}
		if v.CanAddr() {
			d.keys[v.Addr().Interface()] = keyPos
		}
	case reflect.Slice:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errAt(n, "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(t, len(n.Content), len(n.Content))
		v.Set(s)
		for i, c := range n.Content {
			d.decode(c, v.Index(i))
		}
	case reflect.Map:
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return
		}
		if n.Kind != yaml.MappingNode {
			d.errAt(n, "expected a mapping, got %s", kindName(n))
			return
		}
		m := reflect.MakeMapWithSize(t, len(n.Content)/2)
		seen := map[string]bool{}
		keyPos := map[string]Pos{}
		d.keys[m.UnsafePointer()] = keyPos // see mapAt
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if seen[k.Value] {
				d.errAt(k, "duplicate key %q", k.Value)
				continue
			}
			seen[k.Value] = true
			keyPos[k.Value] = d.pos(val)
			e := reflect.New(t.Elem()).Elem()
			d.decode(val, e)
			m.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), e)
			if e.Kind() == reflect.Pointer && !e.IsNil() {
				if p := e.Elem().FieldByName("Pos"); p.IsValid() && p.Type() == posType {
					p.Set(reflect.ValueOf(d.pos(k)))
				}
			}
		}
		v.Set(m)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errAt(n, "expected a string, got %s", kindName(n))
			return
		}
		if n.Tag == "!!null" {
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if n.Kind != yaml.ScalarNode || err != nil {
			d.errAt(n, "expected true or false, got %s", kindName(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		i, err := strconv.ParseInt(n.Value, 10, 64)
		if n.Kind != yaml.ScalarNode || err != nil {
			d.errAt(n, "expected a whole number, got %s", kindName(n))
			return
		}
		v.SetInt(i)
	default:
		d.errAt(n, "cannot decode into %s", t)
	}
}

func (d *decoder) decodeTransform(n *yaml.Node, t *Transform) {
	t.Pos = d.pos(n)
	switch {
	case n.Kind == yaml.ScalarNode:
		t.Name = n.Value
	case n.Kind == yaml.MappingNode && len(n.Content) == 2:
		t.Name = n.Content[0].Value
		var x any
		if err := n.Content[1].Decode(&x); err != nil {
			d.errAt(n.Content[1], "%v", err)
		}
		t.Arg = x
		t.Pos = d.pos(n.Content[0])
	default:
		d.errAt(n, "a transform is a name or a mapping with one key, got %s", kindName(n))
	}
}

var yamlParserProblems = map[string]bool{
	"did not find expected ',' or ']'": true, "did not find expected ',' or '}'": true,
	"did not find expected '-' indicator": true, "did not find expected key": true,
	"did not find expected node content": true, "found undefined tag handle": true,
}

var yamlLineRE = regexp.MustCompile(`line (\d+)(?:, column (\d+))?: (.*)`)

// parseYAML parses src into a document node, turning syntax errors into LoadErrors.
func parseYAML(file string, src []byte) (*yaml.Node, LoadErrors) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		line, col := 1, 1
		if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			if m[2] != "" {
				col, _ = strconv.Atoi(m[2])
			}
			msg = m[3]
		}
		if yamlParserProblems[msg] {
			line++ // yaml.v3 reports parser (not scanner) errors with 0-based lines
		}
		return nil, LoadErrors{{File: file, Line: line, Col: col, Msg: "YAML syntax error: " + readableYAML(msg)}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, LoadErrors{{File: file, Line: 1, Col: 1, Msg: "empty mapping file"}}
	}
	return doc.Content[0], nil
}

// yamlReadable rewrites the YAML parser's messages for a mapping author.
var yamlReadable = map[string]string{
	"did not find expected ',' or ']'":                       "a [list] is not closed: expected ',' or ']'",
	"did not find expected ',' or '}'":                       "a {mapping} is not closed: expected ',' or '}'",
	"did not find expected key":                              "expected a key here (check the indentation of this line and the one above)",
	"did not find expected '-' indicator":                    "a list item is not aligned with the items above it (expected '- ')",
	"did not find expected node content":                     "a value is missing here",
	"mapping values are not allowed in this context":         "unexpected ':' (quote a value that contains ': ', or fix the indentation)",
	"found character that cannot start any token":            "a character that cannot start a value here (YAML indents with spaces, never tabs; quote values starting with @ or `)",
	"could not find expected ':'":                            "a key without ':' (write key: value)",
	"found unexpected end of stream":                         "the file ends inside a quoted string or an unclosed [list] or {mapping}",
	"found undefined tag handle":                             "unknown tag (a value starting with ! must be quoted)",
	"block sequence entries are not allowed in this context": "a '- ' list item where a value was expected (put it on its own line under the key)",
}

// readableYAML returns the readable form of a YAML parser message.
func readableYAML(msg string) string {
	if r, ok := yamlReadable[msg]; ok {
		return r
	}
	return msg
}

// hint returns ` (did you mean "x"?)` when one of names is close to s.
func hint(s string, names []string) string {
	best, bestD := "", 1<<30
	for _, n := range names {
		d := editdist.Distance(strings.ToLower(s), strings.ToLower(n))
		if len(s) >= 3 && strings.HasPrefix(strings.ToLower(n), strings.ToLower(s)) {
			d = min(d, 1)
		}
		if d < bestD {
			best, bestD = n, d
		}
	}
	limit := max(2, len(s)/3)
	if best != "" && bestD <= limit {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}
