package archtest

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// rowRe matches a package row of docs/architecture.md's table:
// | `pkg` | holds | may import |.
var rowRe = regexp.MustCompile("(?m)^\\| `([a-z/]+)` \\|.*\\| ([^|]*) \\|$")

// parenRe matches a parenthetical remark in the "may import" column.
var parenRe = regexp.MustCompile(`\([^)]*\)`)

// TestArchitectureDocTable holds docs/architecture.md's package table equal
// to the allowed table: every rule has a row, every row a rule, and the row's
// "may import" column names exactly the rule's packages of ours ("everything"
// for "*"; remarks in parentheses, such as the third-party libraries, are
// prose).
func TestArchitectureDocTable(t *testing.T) {
	b, err := os.ReadFile("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for _, m := range rowRe.FindAllStringSubmatch(string(b), -1) {
		var names []string
		for _, f := range strings.Split(parenRe.ReplaceAllString(m[2], ""), ",") {
			if f = strings.TrimSpace(f); f == "everything" {
				names = append(names, "*")
			} else if f != "" {
				names = append(names, f)
			}
		}
		slices.Sort(names)
		rows[m[1]] = names
	}
	if len(rows) < 10 {
		t.Fatalf("found %d package rows in docs/architecture.md; the pattern is broken", len(rows))
	}
	for key, want := range allowed {
		pkg := strings.TrimSuffix(key, "/")
		got, ok := rows[pkg]
		if !ok {
			t.Errorf("docs/architecture.md has no row for %s", pkg)
			continue
		}
		want = slices.Sorted(slices.Values(want))
		if !slices.Equal(got, want) {
			t.Errorf("docs/architecture.md row %s may import %v, the import test allows %v", pkg, got, want)
		}
		delete(rows, pkg)
	}
	for pkg := range rows {
		t.Errorf("docs/architecture.md has a row for %s, which the import test has no rule for", pkg)
	}
}
