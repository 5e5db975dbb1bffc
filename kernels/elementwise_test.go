package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// benchRows runs f over a rows×cols matrix per iteration at every level and
// reports elements/ns and GB/s (8 bytes per element: one read, one write).
func benchRows(b *testing.B, rows, cols int, f func(dst, src []float32, cols int)) {
	r := rand.New(rand.NewPCG(1, 1))
	src := kerneltest.Rand(r, rows*cols, -6, 6)
	dst := make([]float32, len(src))
	kerneltest.Bench(b, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f(dst, src, cols)
		}
		ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(float64(len(src))/ns, "elem/ns")
		b.ReportMetric(8*float64(len(src))/ns, "GB/s")
	})
}

// TestSigmoidActivations checks QuickGELU and SiLU against float64 over a
// range that reaches both tails, with dst aliasing src and apart from it.
func TestSigmoidActivations(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range []struct {
			act kernels.Activation
			a   float64
		}{{kernels.ActQuickGELU, 1.702}, {kernels.ActSiLU, 1}} {
			for _, n := range []int{0, 1, 7, 255, 256, 257, 1000} {
				src := make([]float32, n)
				for i := range src {
					src[i] = float32(-60 + 120*float64(i)/float64(max(n-1, 1)))
				}
				inPlace := append([]float32(nil), src...)
				kernels.Activate(c.act, inPlace, inPlace)
				apart := make([]float32, n) // dst apart from src: no allocation
				if allocs := testing.AllocsPerRun(3, func() { kernels.Activate(c.act, apart, src) }); allocs != 0 {
					t.Errorf("%s n=%d into another slice: %v allocations", c.act, n, allocs)
				}
				for _, dst := range [][]float32{inPlace, apart} {
					for i, x := range src {
						want := float64(x) / (1 + math.Exp(-c.a*float64(x)))
						if d := math.Abs(float64(dst[i]) - want); d > 2e-6*math.Max(1, math.Abs(want)) {
							t.Fatalf("%s n=%d x=%g: got %g want %g", c.act, n, x, dst[i], want)
						}
					}
				}
			}
		}
	})
}

// TestSigmoidGateLargeInputs: where the gate raises e^(−a·x)'s exponent
// (a·x past 80, where Exp would return subnormals), the result has the
// bits of x / (1 + Exp(−a·x)) computed without the floor, that is x.
func TestSigmoidGateLargeInputs(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range []struct {
			act kernels.Activation
			a   float32
		}{{kernels.ActQuickGELU, 1.702}, {kernels.ActSiLU, 1}} {
			var src []float32
			for x := float32(30); x < 1e7; x *= 1.07 {
				src = append(src, x, -x)
			}
			src = append(src, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.MaxFloat32))
			e := make([]float32, len(src))
			for i, x := range src {
				e[i] = -c.a * x
			}
			kernels.Exp(e, e)
			got := make([]float32, len(src))
			kernels.Activate(c.act, got, src)
			inPlace := append([]float32(nil), src...)
			kernels.Activate(c.act, inPlace, inPlace)
			for i, x := range src {
				want := x / (1 + e[i])
				for _, g := range []float32{got[i], inPlace[i]} {
					if math.Float32bits(g) != math.Float32bits(want) {
						t.Fatalf("%s x=%g: got %g, want %g", c.act, x, g, want)
					}
				}
			}
		}
	})
}

// TestSigmoidGateNoAllocs: QuickGELU and SiLU in place and apart allocate
// nothing once warm (they run in GEMM epilogues of every forward pass).
func TestSigmoidGateNoAllocs(t *testing.T) {
	x := make([]float32, 1000)
	y := make([]float32, 1000)
	for _, act := range []kernels.Activation{kernels.ActQuickGELU, kernels.ActSiLU} {
		kernels.Activate(act, x, x)
		if a := testing.AllocsPerRun(10, func() { kernels.Activate(act, x, x); kernels.Activate(act, y, x) }); a != 0 {
			t.Errorf("%s: %v allocations", act, a)
		}
	}
}

// BenchmarkSiLUSpread times SiLU in place over 197×3072 values from U(-s,
// s): from s ≈ 90 many gates need e^x below e^-87, where the exponential's
// subnormal results would cost Intel cores a microcode assist per vector.
//
//	go test ./kernels -run - -bench SiLUSpread -benchtime 200x
func BenchmarkSiLUSpread(b *testing.B) {
	for _, s := range []float64{6, 100, 300} {
		b.Run(fmt.Sprintf("s=%g", s), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			src := kerneltest.Rand(r, 197*3072, -s, s)
			buf := make([]float32, len(src))
			kerneltest.Bench(b, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					copy(buf, src)
					kernels.SiLU(buf, buf)
				}
				b.ReportMetric(float64(len(src))*float64(b.N)/float64(b.Elapsed().Nanoseconds()), "elem/ns")
			})
		})
	}
}
