package posenc_test

import (
	"fmt"

	"github.com/anyres/anyres/posenc"
)

// A ViT-B/16 trained at 224² has a 14×14 grid plus a class token. At
// 384×256 the grid is 24×16: resample the table once, timm's way.
func ExampleResampleAbsPosEmbed() {
	const dim = 768
	table := make([]float32, (1+14*14)*dim) // pos_embed[0] from the checkpoint
	old, err := posenc.GridFromTokens(len(table)/dim, 1)
	if err != nil {
		panic(err)
	}
	resized, err := posenc.ResampleAbsPosEmbed(table, 1, old, posenc.Grid{H: 24, W: 16}, dim, posenc.DefaultResampleOptions())
	if err != nil {
		panic(err)
	}
	fmt.Println(old, "→", len(resized)/dim, "rows")
	// Output: 14×14 → 385 rows
}

// A Learned adds the position table to the tokens of any image size,
// resampling (and caching) it for each grid it sees.
func ExampleNewLearned() {
	const dim = 4
	old := posenc.Grid{H: 2, W: 2}
	table := []float32{
		9, 9, 9, 9, // class token
		0, 0, 0, 0, 1, 1, 1, 1, // grid row 0
		2, 2, 2, 2, 3, 3, 3, 3, // grid row 1
	}
	pe, err := posenc.NewLearned(table, 1, old, dim, posenc.ResampleOptions{Method: posenc.Bilinear, AlignCorners: true})
	if err != nil {
		panic(err)
	}
	g := posenc.Grid{H: 3, W: 3}
	tokens := make([]float32, (1+g.N())*dim) // class token, then 3×3 patch tokens
	if err := pe.AddTo(tokens, 1, g, dim); err != nil {
		panic(err)
	}
	for i := 0; i < 1+g.N(); i++ {
		fmt.Print(tokens[i*dim], " ")
	}
	fmt.Println()
	// Output: 9 0 0.5 1 1 1.5 2 2 2.5 3
}
