package editdist

// Distance returns the Levenshtein distance between a and b, counted in
// runes (insertions, deletions and substitutions each cost 1).
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Closest returns the first of cands nearest to s within distance max, or
// "" when none is that close.
func Closest(s string, cands []string, max int) string {
	best, bestD := "", max+1
	for _, c := range cands {
		if d := Distance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}
