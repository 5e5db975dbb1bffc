package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// BenchmarkGemmPacked measures linear layers of ViT-B (A·Wᵀ with W packed)
// at 1 and 2 threads; go test -bench GemmPacked -benchtime 20x.
func BenchmarkGemmPacked(b *testing.B) {
	for _, s := range [][3]int{{197, 768, 768}, {197, 2304, 768}, {577, 3072, 768}, {577, 768, 3072}, {1025, 768, 768}} {
		for _, th := range []kernels.Threads{1, 2} {
			m, n, k := s[0], s[1], s[2]
			b.Run(fmt.Sprintf("m=%d/n=%d/k=%d/threads=%d", m, n, k, th), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				a := randMatrix(rng, m, k, k)
				pb := kernels.PackB(true, k, n, randMatrix(rng, n, k, k), k)
				c := make([]float32, m*n)
				kerneltest.Bench(b, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						kernels.GemmPacked(th, m, a, k, pb, c, n, kernels.Epilogue{})
					}
					b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			})
		}
	}
}

// BenchmarkSgemm measures square products (B packed per call).
func BenchmarkSgemm(b *testing.B) {
	for _, n := range []int{256, 512, 1024} {
		for _, th := range []kernels.Threads{1, 2} {
			b.Run(fmt.Sprintf("n=%d/threads=%d", n, th), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(1, 1))
				a := randMatrix(rng, n, n, n)
				bb := randMatrix(rng, n, n, n)
				c := make([]float32, n*n)
				kerneltest.Bench(b, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						kernels.Sgemm(th, false, false, n, n, n, 1, a, n, bb, n, 0, c, n)
					}
					b.ReportMetric(2*float64(n*n*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			})
		}
	}
}

// BenchmarkSgemmShape measures one Sgemm shape (197×768×3072), for
// profiling with -cpuprofile.
func BenchmarkSgemmShape(b *testing.B) {
	m, n, k := 197, 768, 3072
	rng := rand.New(rand.NewPCG(1, 1))
	a := randMatrix(rng, m, k, k)
	bb := randMatrix(rng, k, n, n)
	c := make([]float32, m*n)
	b.ReportAllocs()
	for b.Loop() {
		kernels.Sgemm(1, false, false, m, n, k, 1, a, k, bb, n, 0, c, n)
	}
	b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
