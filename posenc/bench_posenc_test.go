package posenc_test

import (
	"testing"

	"github.com/anyres/anyres/bench"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// BenchmarkPosEnc runs the cases of 'anyres bench posenc' at every kernel
// level: relative-bias gather+add (7×7 and 24×24 windows, 12 heads), RoPE on
// q and k (577 tokens × 12 heads × 64), PEG (24×24×768).
func BenchmarkPosEnc(b *testing.B) {
	for _, c := range bench.PosEncCases() {
		b.Run(c.Name, func(b *testing.B) {
			kerneltest.Bench(b, func(b *testing.B) {
				run, err := c.Setup()
				if err != nil {
					b.Fatal(err)
				}
				if err := run(); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := run(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(c.Values)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gvalues/s")
			})
		})
	}
}
