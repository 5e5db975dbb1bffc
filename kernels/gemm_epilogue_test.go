package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// TestGemmFusedEpilogueBits checks that the epilogue the AVX2 and AVX-512
// micro-kernels apply in registers gives the same bits as the plain product
// followed by the separate passes (Add, Activate, Add) at the same level, for
// every thread count: tiles whole and at the edges, one and several K
// blocks (K = 3072 is four blocks of 768), a residual with its own stride.
func TestGemmFusedEpilogueBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, s := range []struct{ m, n, k int }{{1, 32, 5}, {14, 64, 768}, {15, 65, 100}, {37, 96, 3072}, {197, 80, 769}, {29, 16, 33}} {
		w := randMatrix(rng, s.n, s.k, s.k)
		pb := kernels.PackB(true, s.k, s.n, w, s.k)
		bias := randMatrix(rng, 1, s.n, s.n)
		a := randMatrix(rng, s.m, s.k, s.k+1)
		ldr := s.n + 5
		res := randMatrix(rng, s.m, s.n, ldr)
		ldc := s.n + 3
		kerneltest.Run(t, func(t *testing.T) {
			for _, v := range []struct {
				bias, resid bool
				act         kernels.Activation
			}{{bias: true}, {bias: true, act: kernels.ActGELU}, {resid: true}, {bias: true, resid: true},
				{bias: true, act: kernels.ActGELU, resid: true}, {act: kernels.ActGELU, resid: true},
				{bias: true, act: kernels.ActGELUTanh, resid: true}, {act: kernels.ActGELUTanh}, {bias: true, act: kernels.ActQuickGELU}, {bias: true, act: kernels.ActSiLU, resid: true}} {
				// The reference: the product alone, then the passes.
				want := make([]float32, s.m*ldc)
				kernels.GemmPacked(1, s.m, a, s.k+1, pb, want, ldc, kernels.Epilogue{})
				for i := 0; i < s.m; i++ {
					row := want[i*ldc : i*ldc+s.n]
					if v.bias {
						kernels.Add(row, row, bias[:s.n])
					}
					if v.act != kernels.ActNone {
						kernels.Activate(v.act, row, row)
					}
					if v.resid {
						kernels.Add(row, row, res[i*ldr:i*ldr+s.n])
					}
				}
				ep := kernels.Epilogue{Act: v.act}
				if v.bias {
					ep.Bias = bias
				}
				if v.resid {
					ep.Residual, ep.LDR = res, ldr
				}
				for _, threads := range []int{1, 2, 3} {
					g := kerneltest.Matrix(s.m, s.n, ldc, 3).Fill(func(i, j int) float32 { return float32(math.NaN()) })
					kernels.GemmPacked(kernels.Threads(threads), s.m, a, s.k+1, pb, g.Data(), ldc, ep)
					g.Check(t, "C")
					for i := 0; i < s.m; i++ {
						for j := 0; j < s.n; j++ {
							if got, w := g.At(i, j), want[i*ldc+j]; math.Float32bits(got) != math.Float32bits(w) {
								t.Fatalf("%s threads %d: C[%d,%d] = %v, want %v (separate passes)",
									fmt.Sprintf("%dx%dx%d %+v", s.m, s.n, s.k, v), threads, i, j, got, w)
							}
						}
					}
				}
			}
		})
	}
}
