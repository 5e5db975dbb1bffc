package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

func gelu64(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

// act64 is the float64 reference of each epilogue activation.
func act64(a kernels.Activation, x float64) float64 {
	switch a {
	case kernels.ActGELU:
		return gelu64(x)
	case kernels.ActGELUTanh:
		return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
	case kernels.ActQuickGELU:
		return x / (1 + math.Exp(-1.702*x))
	case kernels.ActSiLU:
		return x / (1 + math.Exp(-x))
	}
	return x
}

// TestGemmPackedEpilogues checks C = act(A·Wᵀ + bias) + residual for a
// weight packed once (outside the per-level loop: every level reads the
// same packed layout), with the residual in its own matrix or in C itself.
func TestGemmPackedEpilogues(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	type shape struct{ m, n, k int }
	shapes := []shape{{1, 7, 3}, {5, 32, 64}, {14, 48, 300}, {29, 50, 17}, {64, 33, 129}, {0, 5, 5}, {3, 4, 0}}
	for _, s := range shapes {
		ldw := s.k + 2
		w := randMatrix(rng, s.n, s.k, max(ldw, 1))
		pb := kernels.PackB(true, s.k, s.n, w, ldw)
		bias := randMatrix(rng, 1, s.n, max(s.n, 1))
		lda := s.k + 1
		a := randMatrix(rng, s.m, s.k, lda)
		ldc := s.n + 3
		res := randMatrix(rng, s.m, s.n, ldc)
		kerneltest.Run(t, func(t *testing.T) {
			for _, v := range []struct {
				bias, resid, inPlace bool
				act                  kernels.Activation
			}{{}, {bias: true}, {bias: true, act: kernels.ActGELU}, {act: kernels.ActGELU}, {bias: true, resid: true},
				{bias: true, act: kernels.ActGELUTanh}, {bias: true, act: kernels.ActQuickGELU, resid: true}, {act: kernels.ActSiLU, resid: true, inPlace: true},
				{resid: true, inPlace: true}, {bias: true, resid: true, inPlace: true}, {bias: true, act: kernels.ActGELU, resid: true, inPlace: true}} {
				name := fmt.Sprintf("%dx%dx%d %+v", s.m, s.n, s.k, v)
				var ep kernels.Epilogue
				if v.bias {
					ep.Bias = bias
				}
				ep.Act = v.act
				fill := func(i, j int) float32 { return float32(math.NaN()) }
				g := kerneltest.Matrix(s.m, s.n, ldc, 0).Fill(func(i, j int) float32 { return res[i*ldc+j] })
				if v.resid {
					ep.LDR = ldc
					if v.inPlace {
						ep.Residual = g.Data()
					} else {
						ep.Residual = res
					}
				}
				if !v.inPlace {
					g = kerneltest.Matrix(s.m, s.n, ldc, 0).Fill(fill)
				}
				kernels.GemmPacked(kernels.Threads(1+len(name)%3), s.m, a, lda, pb, g.Data(), ldc, ep)
				want, scale := refGemm(false, true, s.m, s.n, s.k, 1, a, lda, w, ldw, 0, nil)
				for i := 0; i < s.m; i++ {
					for j := 0; j < s.n; j++ {
						x, sc := want[i*s.n+j], scale[i*s.n+j]
						if v.bias {
							x += float64(bias[j])
							sc += math.Abs(float64(bias[j]))
						}
						if v.act != kernels.ActNone {
							x = act64(v.act, x)
							sc = 1.2*sc + math.Abs(x)
						}
						if v.resid {
							x += float64(res[i*ldc+j])
							sc += math.Abs(float64(res[i*ldc+j]))
						}
						want[i*s.n+j], scale[i*s.n+j] = x, sc
					}
				}
				checkClose(t, name, g, s.m, s.n, want, scale, s.k+4)
			}
		})
	}
}

// TestGemmPackedThreadsBitIdentical checks the packed path with an epilogue
// gives the same bits for every thread count.
func TestGemmPackedThreadsBitIdentical(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(13, 14))
		m, n, k := 77, 130, 520
		w := randMatrix(rng, n, k, k)
		pb := kernels.PackB(true, k, n, w, k)
		a := randMatrix(rng, m, k, k)
		bias := randMatrix(rng, 1, n, n)
		var first []float32
		for _, th := range []kernels.Threads{1, 2, 3, 7} {
			c := make([]float32, m*n)
			kernels.GemmPacked(th, m, a, k, pb, c, n, kernels.Epilogue{Bias: bias, Act: kernels.ActGELU})
			if first == nil {
				first = c
				continue
			}
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
					t.Fatalf("threads=%d differs from threads=1 at %d: %v vs %v", th, i, c[i], first[i])
				}
			}
		}
	})
}

// TestGemmNoAllocs: a warm single-threaded call allocates nothing (the ViT
// layer runs allocation-free on top of it).
func TestGemmNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("AllocsPerRun is slow under the race detector and emulators")
	}
	kerneltest.Run(t, func(t *testing.T) {
		a, c, r := make([]float32, 70*64), make([]float32, 70*64), make([]float32, 70*64)
		pb := kernels.PackB(true, 64, 64, a, 64)
		ep := kernels.Epilogue{Bias: a[:64], Act: kernels.ActGELU, Residual: r, LDR: 64}
		if n := testing.AllocsPerRun(10, func() { kernels.GemmPacked(1, 70, a, 64, pb, c, 64, ep) }); n != 0 {
			t.Errorf("GemmPacked: %v allocations per call", n)
		}
		if n := testing.AllocsPerRun(10, func() { kernels.Sgemm(1, false, true, 70, 64, 64, 1, a, 64, a, 64, 0, c, 64) }); n != 0 {
			t.Errorf("Sgemm: %v allocations per call", n)
		}
	})
}
