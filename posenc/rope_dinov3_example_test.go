package posenc_test

import (
	"fmt"

	"github.com/anyres/anyres/posenc"
)

// DINOv3's rotary embedding: coordinates are patch centres normalised to
// [-1, 1] on each axis, so a 2×4 grid and a 20×40 grid span the same
// angles; the class and register tokens (prefix) are not rotated.
func ExampleRopeDinoV3_Rotate() {
	rope := &posenc.RopeDinoV3{} // timm's defaults: temperature 100, half layout
	g := posenc.Grid{H: 2, W: 4}
	const heads, headDim, prefix = 1, 8, 5
	q := make([]float32, (prefix+g.N())*heads*headDim)
	for i := range q {
		q[i] = 1
	}
	if err := rope.Rotate(q, nil, g, heads, headDim, prefix); err != nil {
		panic(err)
	}
	fmt.Printf("register token: %.3f\n", q[(prefix-1)*headDim:prefix*headDim])
	fmt.Printf("first patch:    %.3f\n", q[prefix*headDim:(prefix+1)*headDim])
	// Output:
	// register token: [1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000]
	// first patch:    [-1.000 1.260 -1.000 1.345 -1.000 0.642 1.000 0.437]
}
