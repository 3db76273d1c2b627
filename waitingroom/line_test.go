package waitingroom

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"
)

// The line's rank is what a search of the sorted waiting positions gives, for positions
// in the line, between, below and above it, across word boundaries.
func TestLineRankCountsTheWaitingBelow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct{ n, span int }{{0, 1}, {1, 1}, {3, 5}, {64, 64}, {65, 200}, {500, 20_000}, {10_000, 10_100}} {
		var positions []int64
		for _, p := range rng.Perm(tc.span)[:tc.n] {
			positions = append(positions, int64(p)+1000)
		}
		l := makeLine(positions)
		sorted := slices.Sorted(slices.Values(positions))
		for p := int64(990); p < int64(tc.span)+1010; p++ {
			want := sort.Search(len(sorted), func(i int) bool { return sorted[i] >= p }) + 1
			if got := l.rank(p); got != want {
				t.Fatalf("%d waiting over %d positions: rank(%d) = %d, want %d", tc.n, tc.span, p, got, want)
			}
		}
	}
}
