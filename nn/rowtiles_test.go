package nn

import (
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// The row tiles cover the sequence in order, each at most maxRowTile rows,
// every inner bound on the GEMM's register tile, and with several workers
// a whole number of tiles each, so that a phase's workers end together.
func TestRowTiling(t *testing.T) {
	for _, mr := range []int{kernels.GemmRowTile(), 4, 6, 16} {
		testRowTiling(t, mr)
	}
}

func testRowTiling(t *testing.T, mr int) {
	for _, threads := range []int{1, 2, 3, 4, 16} {
		for tokens := 1; tokens <= 3000; tokens++ {
			r := rowTilingFor(tokens, threads, mr)
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

// A model with bfloat16 weights that the level widens onto the float32
// kernels takes row tiles of up to GemmBF16's row block, as few as give
// each worker a whole number; a float32 model (or a level that does not
// widen) tiles as rowTilingFor with maxRowTile.
func TestRowTilesBF16(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		f32 := &Encoder{Blocks: []Block{{}}}
		bf := &Encoder{Blocks: []Block{{}}}
		bf.Blocks[0].QKV.H = &kernels.BF16B{}
		rb := kernels.GemmBF16RowBlock()
		for _, threads := range []int{1, 2, 4} {
			for _, tokens := range []int{1, 50, 197, 252, 253, 577, 1025} {
				want := rowTilingFor(tokens, threads, kernels.GemmRowTile())
				if got := f32.rowTiles(tokens, threads); got != want {
					t.Errorf("float32, %d tokens, %d threads: %+v, want %+v", tokens, threads, got, want)
				}
				got := bf.rowTiles(tokens, threads)
				if got.mr != kernels.GemmBF16RowTile() {
					t.Errorf("bfloat16, %d tokens: tiles on %d rows, GemmBF16's register tile is %d", tokens, got.mr, kernels.GemmBF16RowTile())
				}
				switch {
				case rb == 0:
					if want := rowTilingFor(tokens, threads, kernels.GemmBF16RowTile()); got != want {
						t.Errorf("bfloat16 (not widened), %d tokens, %d threads: %+v, want %+v", tokens, threads, got, want)
					}
				default:
					least := (tokens + rb - 1) / rb
					most := (least + threads) / threads * threads // one more for uneven tiles, whole per worker
					if w := got.widest(); w > rb || got.bound(got.tiles) != tokens || got.tiles > most ||
						(got.tiles%threads != 0 && got.tiles != max(1, tokens/got.mr)) {
						t.Errorf("bfloat16, %d tokens, %d threads: %+v (widest %d), want at most %d tiles of at most %d rows, a whole number per worker",
							tokens, threads, got, w, most, rb)
					}
					// As few as that allows: a worker fewer each would
					// need a tile past the row block.
					if fewer := (rowTiling{tokens: tokens, tiles: got.tiles - threads, mr: got.mr}); fewer.tiles > 0 && fewer.widest() <= rb {
						t.Errorf("bfloat16, %d tokens, %d threads: %d tiles where %d keep within %d rows", tokens, threads, got.tiles, fewer.tiles, rb)
					}
				}
			}
		}
	})
}

// An int8 model cuts its rows on GemmQuant's register tile (6 rows with
// VNNI, where the float32 kernel's 14 left two partial tiles per column
// of a 197-token forward), otherwise as a float32 model does.
func TestRowTilesInt8(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		q := &Encoder{Blocks: []Block{{}}}
		q.Blocks[0].QKV.Q = &kernels.QuantB{}
		for _, threads := range []int{1, 2, 4} {
			for _, tokens := range []int{1, 50, 197, 577, 1025} {
				got := q.rowTiles(tokens, threads)
				if want := rowTilingFor(tokens, threads, kernels.GemmQuantRowTile()); got != want {
					t.Errorf("int8, %d tokens, %d threads: %+v, want %+v", tokens, threads, got, want)
				}
			}
		}
	})
}
