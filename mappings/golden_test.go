package mappings

import (
	"errors"
	"flag"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden want files that are missing or differ (go test ./mappings/ -run TestGolden -update)")

// TestGolden walks every fixture beside every mapping with the checks of
// `gatewayd mappings test` (CheckFixture, then Coverage): the rules a mapping
// must meet are the same in both. -update writes the want files instead of
// failing on them.
func TestGolden(t *testing.T) {
	set, err := Load(".")
	if err != nil {
		t.Fatalf("Load(.) = %v", err)
	}
	fx, err := Fixtures(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(fx) == 0 {
		t.Fatal("no fixtures found")
	}
	results := make([]FixtureResult, 0, len(fx))
	for _, f := range fx {
		r := CheckFixture(set.Get(f.Partner), f, *update)
		results = append(results, r)
		t.Run(f.Partner+"/"+f.Name, func(t *testing.T) {
			switch {
			case r.Diff != "":
				t.Errorf("%s: result differs (- want, + got):\n%s", f.Input, r.Diff)
			case errors.Is(r.Err, ErrNoWantFile):
				t.Errorf("%v (or: go test ./mappings/ -run TestGolden -update)", r.Err)
			case r.Err != nil:
				t.Errorf("CheckFixture = %v", r.Err)
			}
		})
	}
	t.Run("coverage", func(t *testing.T) {
		for _, g := range Coverage(set, results) {
			t.Error(g)
		}
	})
}
