package bleveindex

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/beaconlive/beacon/search"
)

// TestTopK checks the in-place bounded selection against a full sort, with
// many ties on the sort key (broken by id).
func TestTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, s := range []search.Sort{search.SortViewers, search.SortRelevance} {
		for _, n := range []int{0, 1, 5, 50, 999, 1000, 1001, 5000} {
			for _, k := range []int{1, 20, 1000} {
				ms := make([]match, n)
				for i, j := range r.Perm(n) { // unique ids in random order
					ms[i] = match{id: fmt.Sprintf("c%05d", j), key: int64(r.IntN(30)), score: float64(r.IntN(30)) / 7}
				}
				want := slices.Clone(ms)
				slices.SortFunc(want, func(a, b match) int {
					if less(s, &a, &b) {
						return -1
					}
					if less(s, &b, &a) {
						return 1
					}
					return 0
				})
				want = want[:min(k, n)]
				got := topK(s, ms, k)
				require.Equal(t, want, got, "sort %s n %d k %d", s, n, k)
			}
		}
	}
}
