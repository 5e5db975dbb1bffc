package posenc_test

import (
	"fmt"

	"github.com/anyres/anyres/posenc"
)

// A Swin relative position bias learned for 7×7 windows, added to one
// head's attention logits of a 7×7 window, and of a 12×12 window (the table
// resized as timm's resize_rel_pos_bias_table does).
func ExampleRelPosBias_AddBias() {
	const heads = 3
	window := posenc.Grid{H: 7, W: 7}
	table := make([]float32, posenc.RelPosTableRows(window, false)*heads)
	for i := range table {
		table[i] = float32(i%heads) + 0.5 // each head its own constant, for the example
	}
	bias, err := posenc.NewRelPosBias(table, heads, window, false, nil)
	if err != nil {
		panic(err)
	}
	for _, g := range []posenc.Grid{window, {H: 12, W: 12}} {
		n := g.N()
		scores := make([]float32, n*n) // one head's logits, query × key
		if err := bias.AddBias(scores, 2, g, 0, 0, n); err != nil {
			panic(err)
		}
		fmt.Println(g, "head 2:", scores[0], scores[n*n-1])
	}
	// Output:
	// 7×7 head 2: 2.5 2.5
	// 12×12 head 2: 2.5 2.5
}
