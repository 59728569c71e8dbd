package archtest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const module = "github.com/equus/sogateway/"

// allowed lists, per package (path relative to the module root; a trailing
// "/" covers sub-packages), the packages of ours it may import in non-test
// code, and nothing more: an allowance no package uses fails the test too,
// so the table (and docs/architecture.md, see TestArchitectureDocTable) says
// what the code really does. Third-party rules are in forbiddenThirdParty.
var allowed = map[string][]string{
	"cmd/gatewayd/":        {"*"},
	"gateway":              {"configs", "internal/model", "internal/store", "internal/intake", "internal/dispatch", "internal/jsonguard", "internal/access", "internal/audit", "internal/catalog", "internal/orderindex"},
	"gateway/partners":     {"gateway", "gateway/partnerauth", "mappings", "internal/model", "internal/inbound", "internal/jsonguard"},
	"gateway/partnerauth":  {"internal/stdwebhooks"},
	"soap":                 {"mappings", "internal/model", "internal/inbound"},
	"mail":                 {"mappings", "internal/model", "internal/inbound"},
	"mappings":             {"internal/model", "internal/editdist"},
	"adapters":             {"configs", "internal/model", "internal/stdwebhooks"},
	"configs":              {"internal/editdist"},
	"internal/model":       {},
	"internal/store":       {"internal/model", "internal/luascript"},
	"internal/intake":      {"internal/model", "internal/store"},
	"internal/inbound":     {"internal/model", "mappings"},
	"internal/queue":       {"internal/model", "internal/clock"},
	"internal/dispatch":    {"internal/model", "internal/queue", "internal/store", "adapters", "configs", "internal/clock", "internal/luascript"},
	"internal/console":     {"internal/model", "internal/dispatch", "internal/access", "mappings", "mail", "configs", "internal/readers"},
	"internal/readers":     {"mappings", "soap", "mail"},
	"internal/testutil":    {"internal/stdwebhooks"},
	"internal/jsonguard":   {},
	"internal/stdwebhooks": {},
	"internal/clock":       {},
	"internal/editdist":    {},
	"internal/luascript":   {},
	"internal/access":      {},
	"internal/audit":       {},
	"internal/catalog":     {},
	"internal/orderindex":  {"internal/model", "internal/luascript"},
	"internal/archtest":    {},
	"bench/":               {"*"},
}

// forbiddenThirdParty lists third-party imports a package must never take.
var forbiddenThirdParty = map[string][]string{
	"internal/model": {"."}, // std lib only
	"mappings":       {"github.com/redis/", "github.com/gin-gonic/"},
	"configs":        {"github.com/redis/", "github.com/gin-gonic/"},
}

// rule returns the key of allowed that governs pkg, and its allowances.
func rule(pkg string) (string, []string, bool) {
	if r, ok := allowed[pkg]; ok {
		return pkg, r, true
	}
	for k, r := range allowed {
		if strings.HasSuffix(k, "/") && (pkg+"/" == k || strings.HasPrefix(pkg, k)) {
			return k, r, true
		}
	}
	return "", nil, false
}

// permits returns the allowance of rules that lets a package import imp.
func permits(rules []string, imp string) (string, bool) {
	for _, r := range rules {
		if r == "*" || r == imp || (strings.HasSuffix(r, "/") && (imp+"/" == r || strings.HasPrefix(imp, r))) {
			return r, true
		}
	}
	return "", false
}

func TestImportDirection(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string]map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") || name == "testdata" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		if imports[rel] == nil {
			imports[rel] = map[string]bool{}
		}
		for _, im := range f.Imports {
			imports[rel][strings.Trim(im.Path.Value, `"`)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var pkgs []string
	for p := range imports {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	if len(pkgs) < 5 {
		t.Fatalf("found only %d packages under %s; the walk is broken", len(pkgs), root)
	}
	// used records, per rule, the allowances some package really needs: the
	// table is tight, so an import that goes away takes its allowance along
	// (and the picture in docs/architecture.md stays true).
	used := map[string]map[string]bool{}
	for _, pkg := range pkgs {
		key, rules, ok := rule(pkg)
		if used[key] == nil {
			used[key] = map[string]bool{}
		}
		if !ok {
			t.Errorf("package %s has no import rule: add it to docs/architecture.md and to this test", pkg)
			continue
		}
		for imp := range imports[pkg] {
			if strings.HasPrefix(imp, module) {
				target := strings.TrimPrefix(imp, module)
				if r, ok := permits(rules, target); ok {
					used[key][r] = true
				} else {
					t.Errorf("%s imports %s, which docs/architecture.md does not allow", pkg, target)
				}
				continue
			}
			for _, bad := range forbiddenThirdParty[pkg] {
				if bad == "." && strings.Contains(strings.SplitN(imp, "/", 2)[0], ".") {
					t.Errorf("%s imports %s: it may use the standard library only", pkg, imp)
				} else if bad != "." && strings.HasPrefix(imp, bad) {
					t.Errorf("%s imports %s, which it must never use", pkg, imp)
				}
			}
		}
	}
	var keys []string
	for k := range allowed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if used[k] == nil {
			t.Errorf("the rule for %s names no package of the module: remove it here and from docs/architecture.md", k)
			continue
		}
		for _, r := range allowed[k] {
			if r != "*" && !used[k][r] {
				t.Errorf("%s may import %s but does not: remove the allowance here and from docs/architecture.md", k, r)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not found: %v", err)
	}
}
