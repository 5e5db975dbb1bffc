package kernels_test

import (
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
