package posenc_test

import (
	"fmt"

	"github.com/anyres/anyres/posenc"
)

// SAM's decomposed relative position with tables learned for 4×4 windows
// (7 rows per axis), giving the bias of one query against every key of a
// 4×4 window and of a 6×6 grid (the tables resized linearly to 11 rows).
func ExampleDecomposedRelPos_Fill() {
	const hd = 2
	h := make([]float32, 7*hd)
	w := make([]float32, 7*hd)
	for r := 0; r < 7; r++ {
		h[r*hd], w[r*hd+1] = float32(r), 1 // R_h: the row offset in channel 0; R_w: 1 in channel 1
	}
	rp, err := posenc.NewDecomposedRelPos(h, 7, w, 7, hd)
	if err != nil {
		panic(err)
	}
	q := []float32{1, 0.5} // one query, at the grid's top-left
	for _, g := range []posenc.Grid{{H: 4, W: 4}, {H: 6, W: 6}} {
		terms := make([]float32, rp.TermsLen(g)) // q·R_h per key row, q·R_w per key column
		if err := rp.Terms(terms, q, hd, g, 0, 1); err != nil {
			panic(err)
		}
		bias := make([]float32, g.N())
		rp.Fill(bias, g.N(), terms, g, 1)
		fmt.Println(g, "first key:", bias[0], "last key:", bias[g.N()-1])
	}
	// Output:
	// 4×4 first key: 3.5 last key: 0.5
	// 6×6 first key: 3.5 last key: 0.5
}
