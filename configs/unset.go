package configs

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// unsetRefs lists the variables the raw (not yet interpolated) value at keys
// under n reads and env does not set, so that a note about an empty value can
// name the variable to set instead of asking the operator to guess.
func unsetRefs(n *yaml.Node, env func(string) (string, bool), keys ...string) []string {
	for _, k := range keys {
		if n == nil || n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		n = next
	}
	if n == nil || n.Kind != yaml.ScalarNode {
		return nil
	}
	var names []string
	for _, g := range envRef.FindAllStringSubmatch(n.Value, -1) {
		if v, ok := env(g[1]); !ok || v == "" {
			names = append(names, g[1])
		}
	}
	return names
}

// emptyNote says why a vendor is disabled: what is empty and, when known,
// which variables to set.
func emptyNote(what string, vars []string) string {
	note := "disabled: its " + what + " is empty"
	if len(vars) > 0 {
		return note + ": set " + strings.Join(vars, ", ")
	}
	return note
}

// vendorUnsetRefs gathers unsetRefs for every vendor of a config document.
func vendorUnsetRefs(root *yaml.Node, env func(string) (string, bool)) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	if root.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value != "vendors" || root.Content[i+1].Kind != yaml.MappingNode {
			continue
		}
		vs := root.Content[i+1]
		for j := 0; j+1 < len(vs.Content); j += 2 {
			out[vs.Content[j].Value] = map[string][]string{
				"endpoint": unsetRefs(vs.Content[j+1], env, "endpoint"),
				"email":    unsetRefs(vs.Content[j+1], env, "email", "to"),
			}
		}
	}
	return out
}
