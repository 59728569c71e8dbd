package mappings

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestGolden walks every fixture beside every mapping. MAPPINGS_UPDATE=1
// rewrites the want files instead of comparing.
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
	update := os.Getenv("MAPPINGS_UPDATE") == "1"
	// kinds seen per partner, to check every message kind has three fixtures.
	seen := map[string]map[string]int{}
	for _, f := range fx {
		t.Run(f.Partner+"/"+f.Name, func(t *testing.T) {
			m := set.Get(f.Partner)
			got, err := RunFixture(m, f)
			if err != nil {
				t.Fatalf("RunFixture = %v", err)
			}
			var rc renderCase
			if strings.HasSuffix(f.Input, ".render.json") {
				if data, err := os.ReadFile(f.Input); err == nil && json.Unmarshal(data, &rc) == nil {
					if seen[f.Partner] == nil {
						seen[f.Partner] = map[string]int{}
					}
					seen[f.Partner]["render:"+rc.Render]++
				}
			}
			var bv batchView
			if json.Unmarshal(got, &bv) == nil {
				if seen[f.Partner] == nil {
					seen[f.Partner] = map[string]int{}
				}
				for _, it := range bv.Items {
					if it.Kind != "" {
						seen[f.Partner][it.Kind]++
					}
				}
			}
			if update {
				if err := os.WriteFile(f.Want, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(f.Want)
			if err != nil {
				t.Fatalf("want file: %v (MAPPINGS_UPDATE=1 writes it)", err)
			}
			if !sameJSON(want, got) {
				t.Errorf("%s: result differs (- want, + got):\n%s", f.Input, lineDiff(want, got))
			}
		})
	}
	t.Run("coverage", func(t *testing.T) {
		for _, p := range set.Names() {
			for _, k := range set.Get(p).Kinds() {
				if n := seen[p][k]; n < 3 {
					t.Errorf("%s: kind %s has %d fixture items, want at least 3", p, k, n)
				}
			}
			for _, r := range set.Get(p).Renders() {
				if n := seen[p]["render:"+r]; n < 3 {
					t.Errorf("%s: render %s has %d fixtures, want at least 3", p, r, n)
				}
			}
		}
	})
}
