// Package suggest finds the likely intended word behind a typo, for
// "did you mean …?" hints in error messages.
//
// Closest is a pure function, safe for concurrent use.
package suggest

import "strings"

// Closest returns the candidate nearest to s by edit distance (ignoring
// case), if it is near enough to be a likely typo; otherwise "". Ties go to
// the earliest candidate.
func Closest(s string, candidates []string) string {
	best, bestD := "", 0
	limit := max(1, min(3, len([]rune(s))/3))
	for _, c := range candidates {
		if c == s {
			continue
		}
		d := Distance(strings.ToLower(s), strings.ToLower(c))
		if d <= limit && (best == "" || d < bestD) {
			best, bestD = c, d
		}
	}
	return best
}

// maxLen bounds the inputs Distance compares letter by letter: longer
// strings are only compared for equality, so a hostile input costs little.
const maxLen = 64

// Distance is the edit distance between a and b (insertions, deletions,
// substitutions and swaps of adjacent letters each cost 1).
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > maxLen || len(rb) > maxLen {
		if a == b {
			return 0
		}
		return max(len(ra), len(rb))
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
