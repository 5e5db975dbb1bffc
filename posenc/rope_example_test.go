package posenc_test

import (
	"fmt"

	"github.com/anyres/anyres/posenc"
)

// EVA-02-style rotary embedding inside attention: frequency bands, the
// training grid as reference so that other grids span the same range. q and
// k are token-major (class token first), heads interleaved.
func ExampleRope2D_Rotate() {
	rope := &posenc.Rope2D{Options: posenc.RopeOptions{Bands: posenc.FreqBands, RefGrid: posenc.Grid{H: 16, W: 16}}}
	g := posenc.Grid{H: 24, W: 20} // any grid
	const heads, headDim, prefix = 2, 8, 1
	q := make([]float32, (prefix+g.N())*heads*headDim)
	k := make([]float32, len(q))
	for i := range q {
		q[i], k[i] = 1, 1
	}
	if err := rope.Rotate(q, k, g, heads, headDim, prefix); err != nil {
		panic(err)
	}
	fmt.Printf("class token: %.3f\n", q[:headDim])
	last := q[len(q)-headDim:]
	fmt.Printf("last patch, last head: %.3f\n", last)
	// Output:
	// class token: [1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000]
	// last patch, last head: [-1.297 -0.565 0.836 1.141 -1.360 -0.387 0.837 1.140]
}
