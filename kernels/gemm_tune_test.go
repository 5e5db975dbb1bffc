package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkGemmBlocking times one-thread GemmPacked on ViT shapes for a
// grid of row and K block sizes at the active level (ANYRES_KERNELS picks
// it), to tune the cache blocks. B cycles through copies that together
// exceed the last-level cache, as a model's weights do (each layer's are
// read once per forward and come from memory): a single cache-resident B
// favours other blocks. Compare candidates with benchstat over -count runs:
//
//	go test ./kernels -run - -bench GemmBlocking -count 5
func BenchmarkGemmBlocking(b *testing.B) {
	mk := gemmLevel
	saved := *mk
	defer func() { *mk = saved }()
	shapes := [][3]int{{197, 768, 768}, {197, 2304, 768}, {197, 768, 3072}, {577, 3072, 768}, {577, 768, 3072}}
	rng := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = rng.Float32() - 0.5
		}
		return x
	}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		a := rnd(m * k)
		w := rnd(n * k)
		var ring []*PackedB // built on first use: -bench may pick one shape
		c := make([]float32, m*n)
		for _, kc := range []int{256, 384, 512, 768, 1024, 1536} {
			for _, panels := range []int{12, 16, 24, 32} {
				mc := panels * saved.mr
				b.Run(fmt.Sprintf("%dx%dx%d/mc=%d/kc=%d", m, n, k, mc, kc), func(b *testing.B) {
					if ring == nil {
						ring = make([]*PackedB, max(2, (512<<20)/(4*n*k)))
						for i := range ring {
							ring[i] = PackB(true, k, n, w, k)
						}
					}
					mk.mc, mk.kc = mc, kc
					defer func() { *mk = saved }()
					next := 0
					for b.Loop() {
						GemmPacked(1, m, a, k, ring[next%len(ring)], c, n, Epilogue{})
						next++
					}
					b.ReportMetric(2*float64(m*n*k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
