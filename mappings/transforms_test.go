package mappings

import (
	"os"
	"strings"
	"testing"
)

// transformRow is the row docs/mappings.md gives transform name: how it is
// written, its types and what it does, as the registry says.
func transformRow(name string) string {
	def := transforms[name]
	in := "any"
	if def.in != nil {
		in = strings.Join(def.in, " or ")
	}
	types := in
	switch {
	case def.out != "":
		types = in + " → " + def.out
	case len(def.in) > 1:
		types = in + " → the same"
	}
	esc := strings.NewReplacer("|", `\|`)
	usage := "`" + esc.Replace(def.usage) + "`"
	if def.usage2 != "" {
		usage += " or `" + esc.Replace(def.usage2) + "`"
	}
	return "| " + usage + " | " + types + " | " + esc.Replace(def.doc) + " |"
}

// TestTransformsDocumented: the transforms table of docs/mappings.md has
// exactly one row per registered transform, with the registry's usage,
// types and text, and no row for a transform that does not exist.
func TestTransformsDocumented(t *testing.T) {
	data, err := os.ReadFile("../docs/mappings.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	start := strings.Index(doc, "### Transforms (`do`)")
	if start < 0 {
		t.Fatal("docs/mappings.md has no \"### Transforms (`do`)\" section")
	}
	section := doc[start:]
	if end := strings.Index(section[1:], "\n#"); end >= 0 {
		section = section[:end+1]
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "| `") {
			rows[line] = true
		}
	}
	want := map[string]bool{}
	var table strings.Builder
	for _, name := range transformNames() {
		def := transforms[name]
		if def.usage == "" || def.doc == "" || def.build == nil {
			t.Errorf("transform %s: the registry entry needs usage, doc and build", name)
		}
		if !strings.Contains(def.usage, name) {
			t.Errorf("transform %s: usage %q does not name it", name, def.usage)
		}
		row := transformRow(name)
		want[row] = true
		table.WriteString(row + "\n")
		if !rows[row] {
			t.Errorf("docs/mappings.md lacks the row of transform %s:\n%s", name, row)
		}
	}
	for row := range rows {
		if !want[row] {
			t.Errorf("docs/mappings.md has a transforms row the registry does not give:\n%s", row)
		}
	}
	if t.Failed() {
		t.Logf("the rows the registry gives:\n%s", table.String())
	}
}

// TestTransformRegistryCompiles: every registered transform compiles on a
// value of an accepted type with an argument of its declared kind.
func TestTransformRegistryCompiles(t *testing.T) {
	args := map[string]any{"int": 5, "string": "x", "any": "x", "string|object": "2006-01-02"}
	for _, name := range transformNames() {
		def := transforms[name]
		c := &compiler{decoder: &decoder{}, maps: map[string]*cmap{"x": {name: "x", fwd: map[string]string{}, rev: map[string]string{}}}}
		if name == "epoch" {
			args["string"] = "s"
		} else {
			args["string"] = "x"
		}
		cur := tyAny
		if def.in != nil {
			cur = def.in[0]
		}
		ct, _ := c.compileTransform(Transform{Name: name, Arg: args[def.arg]}, cur)
		if ct == nil || ct.fn == nil {
			t.Errorf("compileTransform(%s) = %v, want a transform", name, ct)
		}
		if len(c.errs) > 0 {
			t.Errorf("compileTransform(%s) errors: %v", name, c.errs)
		}
	}
}
