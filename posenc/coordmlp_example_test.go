package posenc_test

import (
	"fmt"

	"github.com/anyres/anyres/posenc"
)

// A continuous absolute encoding: one linear layer of the patch centre's
// (x, y) and one Fourier frequency, giving a table for any grid.
func ExampleCoordMLP() {
	in := posenc.CoordFeatureDim(1) // x, y, sin/cos 2πx, sin/cos 2πy
	layer := posenc.CoordLayer{In: in, Out: 2, Weight: []float32{
		1, 0, 0, 0, 0, 0, // output 0 = x
		0, 1, 0, 0, 0, 0, // output 1 = y
	}}
	m, err := posenc.NewCoordMLP([]posenc.CoordLayer{layer}, []float32{1}, false)
	if err != nil {
		panic(err)
	}
	table, _ := m.Table(posenc.Grid{H: 2, W: 4})
	fmt.Println(table)
	// Output: [0.125 0.25 0.375 0.25 0.625 0.25 0.875 0.25 0.125 0.75 0.375 0.75 0.625 0.75 0.875 0.75]
}
