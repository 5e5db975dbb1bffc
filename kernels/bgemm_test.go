package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// TestGemmBF16 checks every level against the exact product within the
// bound of rounding A and B to bfloat16 (the widening path rounds only B),
// for all M/N/K tails, with every epilogue and guard bands around C.
func TestGemmBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	type tc struct {
		m, n, k  int
		a, w, b  []float32
		res      []float32
		lda, ldw int
	}
	var cases []tc
	for _, m := range []int{1, 2, 5, 6, 7, 13, 25} {
		for _, n := range []int{1, 15, 16, 17, 64, 65, 129} {
			for _, k := range []int{1, 2, 3, 33, 64, 257} {
				c := tc{m: m, n: n, k: k, lda: k + m%3, ldw: k + n%2}
				c.a = randMatrix(rng, m, k, c.lda)
				c.w = randMatrix(rng, n, k, c.ldw)
				c.b = randMatrix(rng, 1, n, n)
				c.res = randMatrix(rng, m, n, n)
				cases = append(cases, c)
			}
		}
	}
	acts := []kernels.Activation{kernels.ActNone, kernels.ActGELU, kernels.ActSiLU}
	kerneltest.Run(t, func(t *testing.T) {
		for ci, c := range cases {
			pb := kernels.NewBF16B(c.k, c.n, c.w, c.ldw)
			act := acts[ci%len(acts)]
			for _, mode := range []string{"plain", "bias", "residual", "inplace"} {
				ldc := c.n + ci%3
				g := kerneltest.Matrix(c.m, c.n, ldc, ci%5).Fill(func(i, j int) float32 {
					if mode == "inplace" {
						return c.res[i*c.n+j]
					}
					return float32(math.NaN())
				})
				ep := kernels.Epilogue{Act: act}
				if mode != "plain" {
					ep.Bias = c.b
				}
				switch mode {
				case "residual":
					ep.Residual, ep.LDR = c.res, c.n
				case "inplace":
					ep.Residual, ep.LDR = g.Data(), ldc
				}
				name := fmt.Sprintf("%dx%dx%d %s act=%v", c.m, c.n, c.k, mode, act)
				kernels.GemmBF16(kernels.Threads(1+ci%3), c.m, c.a, c.lda, pb, g.Data(), ldc, ep)
				g.Check(t, name)
				for i := 0; i < c.m; i++ {
					for j := 0; j < c.n; j++ {
						var x, mag float64
						for p := 0; p < c.k; p++ {
							u, v := float64(c.a[i*c.lda+p]), float64(c.w[j*c.ldw+p])
							x += u * v
							mag += math.Abs(u * v)
						}
						// Rounding a and w to bfloat16 (8-bit significand:
						// relative error ≤ u = 2⁻⁸ each) moves each product by
						// ≤ (2u + u²)·|a·w| < 1.01·2⁻⁷·|a·w| (the widening
						// paths round only w: half that); float32
						// accumulation adds ≤ 2⁻²⁴ of the running magnitude
						// per step (k steps, bias, epilogue).
						bound := mag*(1.01/128+float64(c.k+2)/(1<<24)) + 1e-6
						if ep.Bias != nil {
							x += float64(c.b[j])
						}
						if act != kernels.ActNone {
							x = act64(act, x)
							bound = 1.2*bound + 1e-6*math.Abs(x)
						}
						if ep.Residual != nil {
							x += float64(c.res[i*c.n+j])
							bound += 1e-6 * math.Abs(x)
						}
						if d := math.Abs(float64(g.At(i, j)) - x); !(d <= bound) {
							t.Fatalf("%s: C[%d,%d] = %v, exact %v: error %g over %g", name, i, j, g.At(i, j), x, d, bound)
						}
					}
				}
			}
		}
	})
}

// TestGemmBF16Threads: every thread count gives the same bits.
// The second shape is two AMX row blocks, three column calls and a padded
// K step.
func TestGemmBF16Threads(t *testing.T) {
	rng := rand.New(rand.NewPCG(53, 54))
	for _, s := range [][3]int{{197, 200, 300}, {300, 300, 130}} {
		m, n, k := s[0], s[1], s[2]
		a := randMatrix(rng, m, k, k)
		w := randMatrix(rng, n, k, k)
		bias := randMatrix(rng, 1, n, n)
		pb := kernels.NewBF16B(k, n, w, k)
		kerneltest.Run(t, func(t *testing.T) {
			var first []float32
			for _, th := range []kernels.Threads{1, 2, 3, 7} {
				c := make([]float32, m*n)
				kernels.GemmBF16(th, m, a, k, pb, c, n, kernels.Epilogue{Bias: bias, Act: kernels.ActGELU})
				if first == nil {
					first = c
					continue
				}
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
						t.Fatalf("%dx%dx%d threads=%d: C[%d] = %v, 1 thread %v", m, n, k, th, i, c[i], first[i])
					}
				}
			}
		})
	}
}

func TestGemmBF16NoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("AllocsPerRun is slow under the race detector")
	}
	kerneltest.Run(t, func(t *testing.T) {
		a, c, r := make([]float32, 70*64), make([]float32, 70*64), make([]float32, 70*64)
		pb := kernels.NewBF16B(64, 64, a, 64)
		ep := kernels.Epilogue{Bias: a[:64], Act: kernels.ActGELU, Residual: r, LDR: 64}
		if n := testing.AllocsPerRun(10, func() { kernels.GemmBF16(1, 70, a, 64, pb, c, 64, ep) }); n != 0 {
			t.Errorf("GemmBF16: %v allocations per call", n)
		}
	})
}
