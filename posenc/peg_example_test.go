package posenc_test

import (
	"fmt"

	"github.com/anyres/anyres/posenc"
)

// CPVT's position encoding generator with a kernel that averages each
// token's 3×3 neighbourhood (zero outside the grid): tokens near the border
// see the padding, which is how PEG tells position.
func ExamplePEG() {
	const c = 1
	w := []float32{1, 1, 1, 1, 1, 1, 1, 1, 1} // proj.0.weight, C×1×3×3
	for i := range w {
		w[i] /= 9
	}
	peg, err := posenc.NewPEG(w, []float32{0}, c)
	if err != nil {
		panic(err)
	}
	tokens := []float32{9, 9, 9, 9, 9, 9, 9, 9, 9} // 3×3 grid, no prefix
	if err := peg.AddTo(tokens, 0, posenc.Grid{H: 3, W: 3}, c); err != nil {
		panic(err)
	}
	fmt.Println(tokens)
	// Output: [13 15 13 15 18 15 13 15 13]
}
