package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// layerNormCheck compares LayerNorm of x with a float64 reference: each
// output within 1e-6 of the scale of its two terms, |z·w| + |b|, plus 1e-7.
func layerNormCheck(t *testing.T, what string, got, x, w, b []float32, eps float32) {
	t.Helper()
	n := float64(len(x))
	var mean, v float64
	for _, xi := range x {
		mean += float64(xi)
	}
	mean /= n
	for _, xi := range x {
		v += (float64(xi) - mean) * (float64(xi) - mean)
	}
	rstd := 1 / math.Sqrt(v/n+float64(eps))
	for i, xi := range x {
		zw := (float64(xi) - mean) * rstd
		if w != nil {
			zw *= float64(w[i])
		}
		var bi float64
		if b != nil {
			bi = float64(b[i])
		}
		want := zw + bi
		if d := math.Abs(float64(got[i]) - want); !(d <= 1e-6*(math.Abs(zw)+math.Abs(bi))+1e-7) {
			t.Fatalf("%s: element %d = %v, want %v (row %v)", what, i, got[i], want, x[:min(len(x), 8)])
		}
	}
}

// TestLayerNormShapes tries every length, unaligned starts, with and without
// weight and bias, in place and into guarded outputs.
func TestLayerNormShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	kerneltest.Run(t, func(t *testing.T) {
		for _, n := range kerneltest.Lengths() {
			for off := 0; off < 3; off++ {
				for affine := 0; affine < 4; affine++ {
					x := kerneltest.Rand(r, n, -3, 5)
					var w, b []float32
					if affine&1 != 0 {
						w = kerneltest.Rand(r, n, -2, 2)
					}
					if affine&2 != 0 {
						b = kerneltest.Rand(r, n, -1, 1)
					}
					what := fmt.Sprintf("n=%d off=%d weight=%v bias=%v", n, off, w != nil, b != nil)
					guard := kerneltest.Slice(n, off)
					dst := guard.Data()
					kernels.LayerNorm(dst, x, w, b, 1e-6)
					guard.Check(t, "LayerNorm "+what)
					layerNormCheck(t, what, dst, x, w, b, 1e-6)

					inplace := append([]float32(nil), x...)
					kernels.LayerNorm(inplace, inplace, w, b, 1e-6)
					for i := range inplace {
						if inplace[i] != dst[i] {
							t.Fatalf("%s: in place differs at %d", what, i)
						}
					}
				}
			}
		}
	})
}

// TestLayerNormLargeMean: a mean of 1e4 with a spread of 0.1 must not cancel.
func TestLayerNormLargeMean(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	kerneltest.Run(t, func(t *testing.T) {
		for _, n := range []int{7, 64, 197, 768, 1025} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(1e4 + 0.1*r.NormFloat64())
			}
			w, b := kerneltest.Rand(r, n, 0.5, 1.5), kerneltest.Rand(r, n, -1, 1)
			got := make([]float32, n)
			kernels.LayerNorm(got, x, w, b, 1e-6)
			layerNormCheck(t, fmt.Sprintf("mean 1e4 n=%d", n), got, x, w, b, 1e-6)
		}
		// A constant row: zero variance, output is the bias.
		x := []float32{3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3}
		got := make([]float32, len(x))
		kernels.LayerNorm(got, x, nil, x, 1e-6)
		for i, v := range got {
			if v != 3 {
				t.Fatalf("constant row: [%d] = %v, want the bias 3", i, v)
			}
		}
	})
}

// TestLayerNormGolden compares with torch.nn.functional.layer_norm.
func TestLayerNormGolden(t *testing.T) {
	f := golden.Open(t, "elementwise.safetensors")
	for _, c := range f.Cases {
		var n int
		if _, err := fmt.Sscanf(c.Name, "layernorm_%d", &n); err != nil {
			continue
		}
		var p struct{ Eps float32 }
		c.Decode(t, &p)
		in, shape := f.F32(t, c.Inputs[0])
		w, _ := f.F32(t, c.Inputs[1])
		b, _ := f.F32(t, c.Inputs[2])
		want, _ := f.F32(t, c.Outputs[0])
		t.Run(c.Name, func(t *testing.T) {
			kerneltest.Run(t, func(t *testing.T) {
				got := make([]float32, len(in))
				for r := 0; r < shape[0]; r++ {
					kernels.LayerNorm(got[r*n:(r+1)*n], in[r*n:(r+1)*n], w, b, p.Eps)
				}
				if n == 1 {
					// A one-element row normalises to 0, so the output is the
					// bias. torch computes x·rstd - mean·rstd with rstd =
					// 1/sqrt(eps) = 1000, which leaves float32 rounding of x·1000
					// (~4e-5 here) in its reference; compare with the exact value.
					golden.Close(t, c.Name, got, []float32{b[0], b[0], b[0]}, 0, 0)
					return
				}
				golden.Close(t, c.Name, got, want, 1e-6, 1e-6)
			})
		})
	}
}

// BenchmarkLayerNorm: N×768 activations (LayerNormRows).
func BenchmarkLayerNorm(b *testing.B) {
	w, bias := make([]float32, 768), make([]float32, 768)
	for i := range w {
		w[i], bias[i] = 1, 0.5
	}
	for _, n := range []int{197, 4097} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchRows(b, n, 768, func(dst, src []float32, cols int) {
				kernels.LayerNormRows(dst, src, cols, w, bias, 1e-6)
			})
		})
	}
}

// TestLayerNormRows: a matrix at once equals LayerNorm row by row; bad
// shapes panic.
func TestLayerNormRows(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	kerneltest.Run(t, func(t *testing.T) {
		for _, cols := range []int{1, 5, 16, 33, 768} {
			for _, rows := range []int{1, 3} {
				n := rows * cols
				src := kerneltest.Rand(r, n, -4, 4)
				w, b := kerneltest.Rand(r, cols, 0.5, 1.5), kerneltest.Rand(r, cols, -1, 1)
				guard := kerneltest.Slice(n, 2)
				dst := guard.Data()
				kernels.LayerNormRows(dst, src, cols, w, b, 1e-5)
				guard.Check(t, "LayerNormRows")
				want := make([]float32, cols)
				for row := 0; row < rows; row++ {
					kernels.LayerNorm(want, src[row*cols:(row+1)*cols], w, b, 1e-5)
					for i, v := range want {
						if got := dst[row*cols+i]; got != v {
							t.Fatalf("rows=%d cols=%d: [%d][%d] = %v, LayerNorm gives %v", rows, cols, row, i, got, v)
						}
					}
				}
			}
		}
	})
	for _, bad := range []func(){
		func() { kernels.LayerNormRows(make([]float32, 6), make([]float32, 6), 4, nil, nil, 1e-6) },
		func() {
			kernels.LayerNormRows(make([]float32, 6), make([]float32, 6), 3, make([]float32, 6), nil, 1e-6)
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("LayerNormRows accepted a bad shape")
				}
			}()
			bad()
		}()
	}
}
