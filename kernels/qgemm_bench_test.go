package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// BenchmarkGemmQuantViT compares the int8 and bf16 products with the fp32 packed
// product on ViT-B/16's Linear shapes (M tokens × N out × K in) at 224²
// (197 tokens) and 384² (577 tokens), one thread, with the same epilogue.
// Run: go test ./kernels -run '^$' -bench GemmQuantViT
func BenchmarkGemmQuantViT(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, m := range []int{197, 577} {
		for _, s := range [][2]int{{768, 768}, {3072, 768}, {768, 3072}, {2304, 768}} {
			n, k := s[0], s[1]
			a := randMatrix(rng, m, k, k)
			w := randMatrix(rng, n, k, k)
			bias := randMatrix(rng, 1, n, n)
			c := make([]float32, m*n)
			pb := kernels.PackB(true, k, n, w, k)
			qb := kernels.QuantizeB(true, k, n, w, k)
			hb := kernels.NewBF16B(k, n, w, k)
			ep := kernels.Epilogue{Bias: bias}
			flops := 2 * float64(m) * float64(n) * float64(k)
			kerneltest.Bench(b, func(b *testing.B) {
				b.Run(fmt.Sprintf("%dx%dx%d/f32", m, n, k), func(b *testing.B) {
					b.ReportAllocs()
					for range b.N {
						kernels.GemmPacked(1, m, a, k, pb, c, n, ep)
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
				b.Run(fmt.Sprintf("%dx%dx%d/int8", m, n, k), func(b *testing.B) {
					b.ReportAllocs()
					for range b.N {
						kernels.GemmQuant(1, m, a, k, qb, c, n, ep)
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOP/s")
				})
				b.Run(fmt.Sprintf("%dx%dx%d/bf16", m, n, k), func(b *testing.B) {
					b.ReportAllocs()
					for range b.N {
						kernels.GemmBF16(1, m, a, k, hb, c, n, ep)
					}
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			})
		}
	}
}
