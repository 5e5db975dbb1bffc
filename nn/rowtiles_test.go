package nn

import (
	"testing"

	"github.com/anyres/anyres/kernels"
)

// The row tiles cover the sequence in order, each at most maxRowTile rows,
// every inner bound on the GEMM's register tile, and with several workers
// a whole number of tiles each, so that a phase's workers end together.
func TestRowTiling(t *testing.T) {
	mr := kernels.GemmRowTile()
	for _, threads := range []int{1, 2, 3, 4, 16} {
		for tokens := 1; tokens <= 3000; tokens++ {
			r := rowTilingFor(tokens, threads)
			if r.bound(0) != 0 || r.bound(r.tiles) != tokens {
				t.Fatalf("%d tokens, %d threads: tiles span [%d, %d)", tokens, threads, r.bound(0), r.bound(r.tiles))
			}
			for i := range r.tiles {
				lo, hi := r.bound(i), r.bound(i+1)
				if hi <= lo || hi-lo > maxRowTile || (i > 0 && lo%mr != 0) {
					t.Fatalf("%d tokens, %d threads: tile %d is [%d, %d)", tokens, threads, i, lo, hi)
				}
			}
			if w := r.widest(); w > maxRowTile || w*r.tiles < tokens {
				t.Fatalf("%d tokens, %d threads: widest tile %d rows of %d tiles", tokens, threads, w, r.tiles)
			}
			// Workers that take the next tile as they finish one, at one
			// speed: the last ends at most about a tile after the first
			// could, and, where there are enough rows, within a register
			// tiles' rows of an even share.
			busy := make([]int, threads)
			for i := range r.tiles {
				w := 0
				for j := range busy {
					if busy[j] < busy[w] {
						w = j
					}
				}
				busy[w] += r.bound(i+1) - r.bound(i)
			}
			end := 0
			for _, b := range busy {
				end = max(end, b)
			}
			if even := (tokens + threads - 1) / threads; tokens >= 48*threads && r.tiles%threads == 0 && end > even+2*mr {
				t.Errorf("%d tokens, %d threads: tiles %d, the last worker busy for %d rows, an even share is %d", tokens, threads, r.tiles, end, even)
			}
			if tokens >= 48*threads*2 && r.tiles%threads != 0 {
				t.Errorf("%d tokens, %d threads: %d tiles, not a whole number per worker", tokens, threads, r.tiles)
			}
		}
	}
}
