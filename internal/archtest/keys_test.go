package archtest

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/equus/sogateway/configs"
)

// redisKeyDoc matches the doc comment of a function that builds a Redis key:
// the style guide has each one name the key's type ("x is a HASH ...").
var redisKeyDoc = regexp.MustCompile(`(?i)\bis an? (STRING|HASH|LIST|SET|ZSET|STREAM)\b`)

// retentionRef finds the retention settings a Bound line names.
var retentionRef = regexp.MustCompile(`retention\.([a-z_]+)`)

// TestEveryRedisKeyIsBounded lists every Redis key the gateway writes (each
// key-building function in the module, found by its doc comment) and checks
// that its doc says what bounds it, in a "Bound:" line: a TTL, a retention
// the janitor trims (which must be a key of the retention config), or a
// structural bound (one per order, live work only, MAXLEN ...). A new key
// without one fails here.
func TestEveryRedisKeyIsBounded(t *testing.T) {
	root := moduleRootDir(t)
	known := map[string]bool{}
	rt := reflect.TypeOf(configs.Retention{})
	for i := 0; i < rt.NumField(); i++ {
		known[strings.Split(rt.Field(i).Tag.Get("yaml"), ",")[0]] = true
	}
	found := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ParseComments)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		for _, decl := range f.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Doc == nil || !returnsString(fn) {
				continue
			}
			doc := fn.Doc.Text()
			first := strings.SplitN(doc, ".", 2)[0]
			if !redisKeyDoc.MatchString(first) {
				continue
			}
			found++
			name := rel + ": " + fn.Name.Name
			_, bound, ok := strings.Cut(doc, "Bound:")
			if !ok || strings.TrimSpace(bound) == "" {
				t.Errorf("%s builds a Redis key without a \"Bound:\" line saying what keeps it from growing without bound (a TTL, a retention.* the janitor trims, or a structural bound)", name)
				continue
			}
			for _, m := range retentionRef.FindAllStringSubmatch(bound, -1) {
				if !known[m[1]] {
					t.Errorf("%s is bounded by retention.%s, which is not a key of the retention config", name, m[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 30 {
		t.Fatalf("found %d Redis key builders, want at least 30 (is the doc-comment convention still followed?)", found)
	}
}

func returnsString(fn *ast.FuncDecl) bool {
	r := fn.Type.Results
	if r == nil || len(r.List) != 1 {
		return false
	}
	id, ok := r.List[0].Type.(*ast.Ident)
	return ok && id.Name == "string"
}

func moduleRootDir(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}
