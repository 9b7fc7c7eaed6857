// Package suggest finds the closest of a set of names to a mistyped one,
// for "did you mean" hints in error messages.
package suggest

import "strings"

// Distance is the edit distance between a and b, counted in bytes: the
// fewest insertions, deletions, substitutions and swaps of two adjacent
// bytes that turn a into b (optimal string alignment), so that the common
// typo "stauts" is one edit from "status".
func Distance(a, b string) int {
	// Three rows of the table: two back (for a swap), the previous, the current.
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

// Closest returns the candidate nearest to name (compared without regard to
// case), or "" when none is close enough to be what was meant: a candidate
// qualifies when at most a third of its length, and at most 3 edits, tell it
// from name, or when one is a prefix of the other by at least 3 bytes. Ties
// go to the earlier candidate.
func Closest(name string, candidates []string) string {
	lower := strings.ToLower(name)
	best, bestDist := "", -1
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if lc == lower {
			return c
		}
		d := Distance(lower, lc)
		limit := min(3, max(1, len(lc)/3))
		if d > limit && !(len(lower) >= 3 && (strings.HasPrefix(lc, lower) || strings.HasPrefix(lower, lc))) {
			continue
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}
