package kernels_test

import (
	"math/rand/v2"
	"testing"

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
