package configs

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/equus/sogateway/internal/editdist"

	"gopkg.in/yaml.v3"
)

// ErrConfig is wrapped by every configuration error.
var ErrConfig = errors.New("config")

// Error is one configuration problem at a dotted key.
type Error struct {
	Key   string
	Line  int
	Value string
	Rule  string
}

func (e *Error) Error() string {
	loc := ""
	if e.Line > 0 {
		loc = fmt.Sprintf(" (line %d)", e.Line)
	}
	if e.Value != "" || e.Rule != "is required" {
		return fmt.Sprintf("%s%s: %s, got %q", e.Key, loc, e.Rule, e.Value)
	}
	return fmt.Sprintf("%s%s: %s", e.Key, loc, e.Rule)
}

// Is makes errors.Is(err, ErrConfig) true.
func (e *Error) Is(t error) bool { return t == ErrConfig }

// Errors lists every problem found.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return "config: " + strings.Join(s, "; ")
}

// Is makes errors.Is(err, ErrConfig) true.
func (es Errors) Is(t error) bool { return t == ErrConfig }

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// Interpolate replaces ${NAME} and ${NAME:-default} with values from env.
func Interpolate(s string, env func(string) (string, bool)) string {
	return envRef.ReplaceAllStringFunc(s, func(m string) string {
		g := envRef.FindStringSubmatch(m)
		if v, ok := env(g[1]); ok && v != "" {
			return v
		}
		return g[3]
	})
}

// LoadFile reads, interpolates, strictly decodes, defaults and validates the
// config file at path, reading ${NAME} from the process environment.
func LoadFile(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Load(b, os.LookupEnv)
}

// Load decodes a config document; env resolves ${NAME} (nil: os.LookupEnv).
func Load(doc []byte, env func(string) (string, bool)) (*Config, error) {
	if env == nil {
		env = os.LookupEnv
	}
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("config: %w: %w", ErrConfig, err)
	}
	var cfg Config
	if len(root.Content) > 0 {
		var es Errors
		cfg.unset = vendorUnsetRefs(root.Content[0], env)
		interpolateNode(root.Content[0], env)
		strictDecode(root.Content[0], reflect.ValueOf(&cfg).Elem(), "", &es)
		if len(es) > 0 {
			return nil, es
		}
	}
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &cfg, nil
}

func interpolateNode(n *yaml.Node, env func(string) (string, bool)) {
	if n.Kind == yaml.ScalarNode && strings.Contains(n.Value, "${") {
		n.Value = Interpolate(n.Value, env)
		n.Tag = "" // re-resolve: an interpolated value is plain text
		n.Style = 0
	}
	for _, c := range n.Content {
		interpolateNode(c, env)
	}
}

var durationType = reflect.TypeOf(time.Duration(0))

// strictDecode walks node against v, reporting unknown keys and bad values at
// their dotted key, then decodes each leaf.
func strictDecode(n *yaml.Node, v reflect.Value, path string, es *Errors) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	bad := func(rule string) {
		*es = append(*es, &Error{Key: strings.TrimPrefix(path, "."), Line: n.Line, Value: n.Value, Rule: rule})
	}
	if v.Kind() == reflect.Pointer {
		if n.Tag == "!!null" {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		strictDecode(n, v.Elem(), path, es)
		return
	}
	if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok && v.Kind() != reflect.Struct {
		if err := u.UnmarshalYAML(n); err != nil {
			bad(cleanYAMLErr(err))
		}
		return
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" && (v.Kind() == reflect.Struct || v.Kind() == reflect.Map || v.Kind() == reflect.Slice) {
		return // "key:" with nothing after it: the zero value, as if absent
	}
	switch v.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			bad("must be a mapping")
			return
		}
		fields := map[string]int{}
		var names []string
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			fields[tag] = i
			names = append(names, tag)
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			idx, ok := fields[k.Value]
			if !ok {
				hint := ""
				if s := editdist.Closest(k.Value, names, 2); s != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", s)
				}
				*es = append(*es, &Error{Key: strings.TrimPrefix(path+"."+k.Value, "."), Line: k.Line, Value: k.Value,
					Rule: "unknown key" + hint + "; known keys: " + strings.Join(sorted(names), ", ")})
				continue
			}
			strictDecode(val, v.Field(idx), path+"."+k.Value, es)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			bad("must be a mapping")
			return
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			elem := reflect.New(v.Type().Elem()).Elem()
			strictDecode(val, elem, path+"."+k.Value, es)
			v.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			bad("must be a list")
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			strictDecode(c, s.Index(i), fmt.Sprintf("%s[%d]", path, i), es)
		}
		v.Set(s)
	default:
		if n.Kind != yaml.ScalarNode {
			bad("must be a single value")
			return
		}
		if v.Type() == durationType {
			if n.Value == "" {
				return
			}
			d, err := time.ParseDuration(n.Value)
			if err != nil {
				bad("must be a duration such as 30s or 5m")
				return
			}
			v.SetInt(int64(d))
			return
		}
		if n.Value == "" && v.Kind() != reflect.String {
			return // an unset ${NAME} leaves the default
		}
		if err := n.Decode(v.Addr().Interface()); err != nil {
			bad("must be a " + kindName(v.Kind()))
		}
	}
}

func cleanYAMLErr(err error) string {
	s := err.Error()
	s = strings.TrimPrefix(s, "yaml: ")
	return s
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "whole number"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return "string"
}

func sorted(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}
