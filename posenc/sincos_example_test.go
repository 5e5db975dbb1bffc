package posenc_test

import (
	"fmt"

	"github.com/anyres/anyres/posenc"
)

// A fixed MAE-style table for any grid, and the same encoding as an
// Encoder that adds it to the patch tokens after a class token.
func ExampleSinCos2DTable() {
	g := posenc.Grid{H: 3, W: 5}
	table, err := posenc.SinCos2DTable(g, 8, posenc.SinCosOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(table)/8, "rows of 8")
	fmt.Printf("row (1, 2): %.3f\n", table[(1*5+2)*8:(1*5+3)*8])

	const prefix, dim = 1, 8
	tokens := make([]float32, (prefix+g.N())*dim)
	enc := &posenc.SinCos{}
	if err := enc.AddTo(tokens, prefix, g, dim); err != nil {
		panic(err)
	}
	fmt.Printf("class token: %.0f\n", tokens[:dim])
	// Output:
	// 15 rows of 8
	// row (1, 2): [0.841 0.010 0.909 0.020 0.540 1.000 -0.416 1.000]
	// class token: [0 0 0 0 0 0 0 0]
}

// None leaves the tokens as they are: for models that rely on attention
// alone (or get position inside attention, from RoPE or a relative bias).
func ExampleNone() {
	tokens := []float32{1, 2, 3, 4}
	var enc posenc.Encoder = posenc.None{}
	err := enc.AddTo(tokens, 0, posenc.Grid{H: 1, W: 2}, 2)
	fmt.Println(tokens, err)
	// Output: [1 2 3 4] <nil>
}
