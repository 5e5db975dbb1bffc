package kernels_test

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
)

// A linear layer as a transformer runs it: the weight ([out, in], as
// PyTorch stores it) is packed once, then every call fuses the bias, the
// GELU and a residual into the matrix multiply.
func ExampleGemmPacked() {
	const tokens, in, out = 2, 3, 2
	x := []float32{ // tokens × in
		1, 2, 3,
		4, 5, 6,
	}
	w := []float32{ // out × in
		1, 0, 0,
		0, 1, -1,
	}
	bias := []float32{0.5, 0}
	residual := []float32{10, 10, 20, 20}
	pw := kernels.PackB(true, in, out, w, in) // once, at model load
	y := make([]float32, tokens*out)
	kernels.GemmPacked(1, tokens, x, in, pw, y, out, kernels.Epilogue{Bias: bias, Residual: residual, LDR: out})
	fmt.Println(y)
	// Output: [11.5 9 24.5 19]
}

// Sgemm is the BLAS-style product C = alpha·op(A)·op(B) + beta·C on
// row-major matrices; here C = A·Bᵀ, the shape of attention scores Q·Kᵀ.
func ExampleSgemm() {
	q := []float32{1, 0, 0, 1} // 2 queries × 2 dims
	k := []float32{1, 1, 2, 0} // 2 keys × 2 dims
	s := make([]float32, 4)
	kernels.Sgemm(0, false, true, 2, 2, 2, 1, q, 2, k, 2, 0, s, 2)
	fmt.Println(s)
	// Output: [1 2 1 0]
}

// Softmax works in place on one row of scores, with the attention scale
// and an optional additive mask.
func ExampleSoftmax() {
	row := []float32{0, 2, 4}
	mask := []float32{0, 0, float32(-1e30)} // the last key is masked out
	kernels.Softmax(row, 0.5, mask)
	fmt.Printf("%.4f\n", row)
	// Output: [0.2689 0.7311 0.0000]
}

func ExampleLayerNorm() {
	x := []float32{1, 2, 3, 4}
	y := make([]float32, 4)
	kernels.LayerNorm(y, x, nil, nil, 1e-6)
	fmt.Printf("%.4f\n", y)
	// Output: [-1.3416 -0.4472 0.4472 1.3416]
}
