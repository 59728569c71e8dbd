package editdist

import "testing"

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"", "abc", 3}, {"abc", "", 3}, {"kitten", "sitting", 3},
		{"endpoint", "endpiont", 2}, {"retry", "retry", 0}, {"größe", "grösse", 2}, {"é", "e", 1},
	} {
		if got := Distance(tc.a, tc.b); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
		if got := Distance(tc.b, tc.a); got != tc.want {
			t.Errorf("Distance(%q, %q) = %d, want %d (symmetric)", tc.b, tc.a, got, tc.want)
		}
	}
}

func TestClosest(t *testing.T) {
	cands := []string{"endpoint", "transport", "timeout"}
	for _, tc := range []struct {
		s    string
		max  int
		want string
	}{
		{"endpiont", 2, "endpoint"}, {"timeot", 2, "timeout"}, {"nothing-like", 2, ""}, {"transprt", 0, ""},
	} {
		if got := Closest(tc.s, cands, tc.max); got != tc.want {
			t.Errorf("Closest(%q, %d) = %q, want %q", tc.s, tc.max, got, tc.want)
		}
	}
}
