package configs

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"

	"gopkg.in/yaml.v3"
)

// Integrations as data (issue 15): vendors (with their permission set and
// event definitions) and groups live in Redis and change through /v1. They
// are stored as documents in the YAML form of their section, before ${NAME}
// interpolation, so the data names variables and never holds their values;
// each replica resolves them with its own environment.

// RawSection returns the entries of the top-level mapping section (vendors,
// groups) of a config document as JSON documents, before ${NAME}
// interpolation. A missing section is an empty map.
func RawSection(doc []byte, section string) (map[string]json.RawMessage, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("config: %w: %w", ErrConfig, err)
	}
	out := map[string]json.RawMessage{}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return out, nil
	}
	top := root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != section {
			continue
		}
		sec := top.Content[i+1]
		if sec.Kind != yaml.MappingNode {
			return out, nil
		}
		for j := 0; j+1 < len(sec.Content); j += 2 {
			var v any
			if err := sec.Content[j+1].Decode(&v); err != nil {
				return nil, fmt.Errorf("config: %s.%s: %w: %w", section, sec.Content[j].Value, ErrConfig, err)
			}
			if v == nil {
				v = map[string]any{}
			}
			b, err := json.Marshal(v)
			if err != nil {
				return nil, fmt.Errorf("config: %s.%s: %w: %w", section, sec.Content[j].Value, ErrConfig, err)
			}
			out[sec.Content[j].Value] = b
		}
	}
	return out, nil
}

// RawSectionFile is RawSection of the file at path.
func RawSectionFile(path, section string) (map[string]json.RawMessage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return RawSection(b, section)
}

// decodeDoc strictly decodes a stored document (JSON or YAML) into v at the
// dotted key path, resolving ${NAME} with env first (nil env: none).
func decodeDoc(doc []byte, v any, path string, env func(string) (string, bool)) error {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return Errors{{Key: path, Rule: "must be a JSON object (" + cleanYAMLErr(err) + ")"}}
	}
	if len(root.Content) == 0 {
		return Errors{{Key: path, Rule: "must be a JSON object"}}
	}
	if root.Content[0].Kind != yaml.MappingNode {
		return Errors{{Key: path, Rule: "must be a JSON object"}}
	}
	if env != nil {
		interpolateNode(root.Content[0], env)
	}
	var es Errors
	strictDecode(root.Content[0], reflect.ValueOf(v).Elem(), path, &es)
	if len(es) > 0 {
		return es
	}
	return nil
}

// ResolveVendor turns a stored vendor document into the vendor's config:
// ${NAME} resolved with env, strictly decoded, defaulted and validated
// (against d's lease when d is not nil). A vendor whose endpoint resolves
// empty is disabled, not invalid; note says so. Errors name the dotted key
// under "vendors.<name>".
func ResolveVendor(name string, doc []byte, env func(string) (string, bool), d *DispatchConfig) (VendorConfig, string, error) {
	var v VendorConfig
	path := "vendors." + name
	var unset []string
	if env != nil {
		var root yaml.Node
		if yaml.Unmarshal(doc, &root) == nil && len(root.Content) > 0 {
			unset = unsetRefs(root.Content[0], env, "endpoint")
		}
	}
	if err := decodeDoc(doc, &v, path, env); err != nil {
		return v, "", err
	}
	v.SetDefaults()
	note := ""
	if (v.Transport == TransportHTTP || v.Transport == TransportSOAP) && v.Endpoint == "" && !v.Disabled {
		v.Disabled = true
		note = emptyNote("endpoint", unset)
	}
	var errs []error
	if !(v.Disabled && v.Endpoint == "") {
		errs = append(errs, v.Validate(path))
	} else if err := v.Validate(path); err != nil {
		// Only the endpoint may be missing; every other rule still holds.
		errs = append(errs, withoutKey(err, path+".endpoint"))
	}
	if d != nil {
		errs = append(errs, d.ValidateVendors(map[string]VendorConfig{name: v}))
	}
	return v, note, errors.Join(errs...)
}

// ResolveGroup turns a stored group document into the group's config,
// checked against the vendors it may name.
func ResolveGroup(name string, doc []byte, vendors map[string]VendorConfig) (GroupConfig, error) {
	var g GroupConfig
	if err := decodeDoc(doc, &g, "groups."+name, nil); err != nil {
		return g, err
	}
	return g, ValidateGroups(map[string]GroupConfig{name: g}, vendors)
}

func withoutKey(err error, key string) error {
	var keep []error
	for _, fe := range FieldErrors(err) {
		if fe.Key != key {
			keep = append(keep, &ConfigError{Key: fe.Key, Rule: fe.Rule, Value: fe.Value})
		}
	}
	return errors.Join(keep...)
}

// FieldError is one invalid value found in a document: its dotted key, the
// rule and the value received.
type FieldError struct {
	Key, Rule string
	Value     any
}

// FieldErrors lists every key-naming problem inside err (Errors, *Error,
// *ConfigError, joined or wrapped), in order.
func FieldErrors(err error) []FieldError {
	var out []FieldError
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		switch x := e.(type) {
		case Errors:
			for _, c := range x {
				out = append(out, FieldError{Key: c.Key, Rule: c.Rule, Value: c.Value})
			}
			return
		case *Error:
			out = append(out, FieldError{Key: x.Key, Rule: x.Rule, Value: x.Value})
			return
		case *ConfigError:
			out = append(out, FieldError{Key: x.Key, Rule: x.Rule, Value: x.Value})
			return
		case interface{ Unwrap() []error }:
			for _, c := range x.Unwrap() {
				walk(c)
			}
			return
		}
		walk(errors.Unwrap(e))
	}
	walk(err)
	return out
}
