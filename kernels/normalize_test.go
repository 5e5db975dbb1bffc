package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// TestNormalizeSegments checks NormalizeSegments at every level against
// float64 normalisation, for segment lengths on both sides of the vector
// widths, zero and tiny segments (eps), non-finite values (NaN stays NaN
// in its segment), and that nothing outside x is written.
func TestNormalizeSegments(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	kerneltest.Run(t, func(t *testing.T) {
		for _, seg := range []int{1, 3, 8, 16, 24, 32, 40, 64, 96} {
			for _, segs := range []int{1, 2, 5} {
				n := seg * segs
				g := kerneltest.Slice(n, 4)
				x := kerneltest.RandFill(rng, g.Data(), -3, 3)
				if segs > 1 {
					clear(x[seg : 2*seg]) // a zero segment
				}
				if segs > 2 {
					for i := 2 * seg; i < 3*seg; i++ {
						x[i] *= 1e-15 // norm under eps
					}
				}
				in := append([]float32(nil), x...)
				const eps = 1e-12
				kernels.NormalizeSegments(x, seg, eps)
				want := make([]float64, n)
				for lo := 0; lo < n; lo += seg {
					var ss float64
					for _, v := range in[lo : lo+seg] {
						ss += float64(v) * float64(v)
					}
					nrm := max(math.Sqrt(ss), eps)
					for i := lo; i < lo+seg; i++ {
						want[i] = float64(in[i]) / nrm
					}
				}
				what := fmt.Sprintf("seg %d × %d", seg, segs)
				kerneltest.Close(t, what, x, want, 1e-6)
				g.Check(t, what)
			}
		}
		x := []float32{1, float32(math.NaN()), 2, 3, 4, 5, 6, 7, 3, 4, 0, 0, 0, 0, 0, 0}
		kernels.NormalizeSegments(x, 8, 1e-12)
		for i, v := range x[:8] {
			if !math.IsNaN(float64(v)) {
				t.Errorf("segment with a NaN: [%d] = %v, want NaN", i, v)
			}
		}
		if x[8] != 0.6 || x[9] != 0.8 {
			t.Errorf("next segment: %v, want 0.6, 0.8, …", x[8:10])
		}
	})
	defer func() {
		if r := recover(); r == nil {
			t.Error("10 values in segments of 4: no panic")
		}
	}()
	kernels.NormalizeSegments(make([]float32, 10), 4, 1e-12)
}
