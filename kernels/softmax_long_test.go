package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// TestSoftmaxLongRows holds every level to the golden tolerance (relative
// 2e-6, checkProbs) on rows far longer than TestSoftmaxShapes tries: the
// token counts of high-resolution attention. A sum accumulated one float32
// at a time drifts with the row length (4.3e-6 at 4097 entries in the
// generic code before it summed in float64); the assembly's vector lanes
// are partial sums that keep it short.
func TestSoftmaxLongRows(t *testing.T) {
	r := rand.New(rand.NewPCG(40, 97))
	kerneltest.Run(t, func(t *testing.T) {
		for _, n := range []int{4097, 8193, 16385, 65537} {
			for _, spread := range []float64{0.01, 1, 8} {
				x := kerneltest.Rand(r, n, -spread, spread)
				want := softmaxRef(x, 1, nil)
				what := fmt.Sprintf("n=%d spread=%g", n, spread)

				guard := kerneltest.Slice(n, 1)
				kernels.SoftmaxTo(guard.Data(), x, 1, nil)
				guard.Check(t, what)
				checkProbs(t, "SoftmaxTo "+what, guard.Data(), want)

				got := make([]float32, 2*n)
				kernels.SoftmaxRows(got, append(x[:n:n], x...), n, 1, nil)
				checkProbs(t, "SoftmaxRows "+what, got[n:], want)
			}
		}
	})
}

// BenchmarkSoftmaxLongRow measures the three-pass path of rows longer
// than the fused kernel takes in one call.
func BenchmarkSoftmaxLongRow(b *testing.B) {
	for _, n := range []int{8192, 8193, 16384} {
		x := kerneltest.Rand(rand.New(rand.NewPCG(1, 2)), n, -4, 4)
		dst := make([]float32, n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.SetBytes(int64(8 * n))
			for b.Loop() {
				kernels.SoftmaxTo(dst, x, 1, nil)
			}
		})
	}
}
