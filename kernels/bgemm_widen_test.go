package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// TestGemmBF16WidenedBits: below the amx level, GemmBF16 widens each
// tile's bfloat16 panels into scratch and runs the float32 kernels, so it
// must give exactly the bits of GemmPacked on B rounded to bfloat16 and
// widened in full (same sums, same order, same epilogue), for tails in M,
// N and K, odd K (the pair layout pads) and K blocks that start inside a
// pair (k = 1537: three blocks of 513), at 1 and 3 threads, with every
// epilogue and guard bands around C.
func TestGemmBF16WidenedBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(61, 62))
	type tc struct{ m, n, k int }
	var cases []tc
	for _, m := range []int{1, 7, 15, 29, 45} {
		for _, n := range []int{1, 17, 33, 50, 95} {
			for _, k := range []int{1, 2, 3, 31, 64, 255} {
				cases = append(cases, tc{m, n, k})
			}
		}
	}
	cases = append(cases, tc{17, 40, 1537}, tc{197, 70, 769})
	acts := []kernels.Activation{kernels.ActNone, kernels.ActGELU}
	kerneltest.Run(t, func(t *testing.T) {
		if kernels.GemmBF16RoundsActivations() {
			t.Skipf("%v rounds the activations to bfloat16 too", kernels.Active())
		}
		for ci, c := range cases {
			lda, ldw := c.k+ci%3, c.k+ci%2
			a := randMatrix(rng, c.m, c.k, lda)
			w := randMatrix(rng, c.n, c.k, ldw)
			bias := randMatrix(rng, 1, c.n, c.n)
			res := randMatrix(rng, c.m, c.n, c.n)
			wr := make([]float32, len(w)) // w as bfloat16 holds it
			for i, v := range w {
				wr[i] = kernels.FromBF16(kernels.ToBF16(v))
			}
			bf := kernels.NewBF16B(c.k, c.n, w, ldw)
			pf := kernels.PackB(true, c.k, c.n, wr, ldw)
			for _, mode := range []string{"plain", "bias", "residual", "inplace"} {
				ldc := c.n + ci%3
				init := func(i, j int) float32 {
					if mode == "inplace" {
						return res[i*c.n+j]
					}
					return float32(math.NaN())
				}
				ep := kernels.Epilogue{Act: acts[ci%2]}
				if mode != "plain" {
					ep.Bias = bias
				}
				if mode == "residual" {
					ep.Residual, ep.LDR = res, c.n
				}
				want := kerneltest.Matrix(c.m, c.n, ldc, 1).Fill(init)
				wep := ep
				if mode == "inplace" {
					wep.Residual, wep.LDR = want.Data(), ldc
				}
				kernels.GemmPacked(1, c.m, a, lda, pf, want.Data(), ldc, wep)
				for _, th := range []kernels.Threads{1, 3} {
					name := fmt.Sprintf("%dx%dx%d %s act=%v threads=%d", c.m, c.n, c.k, mode, ep.Act, th)
					got := kerneltest.Matrix(c.m, c.n, ldc, ci%5).Fill(init)
					gep := ep
					if mode == "inplace" {
						gep.Residual, gep.LDR = got.Data(), ldc
					}
					kernels.GemmBF16(th, c.m, a, lda, bf, got.Data(), ldc, gep)
					got.Check(t, name)
					for i := 0; i < c.m; i++ {
						for j := 0; j < c.n; j++ {
							if g, w := got.At(i, j), want.At(i, j); math.Float32bits(g) != math.Float32bits(w) {
								t.Fatalf("%s: C[%d,%d] = %v, widened GemmPacked %v", name, i, j, g, w)
							}
						}
					}
				}
			}
		}
	})
}
