package kernels

import (
	"flag"
	"math/rand/v2"
	"testing"
	"time"
)

var gemmCmp = flag.Bool("gemm.cmp", false, "run TestGemmCompare: Sgemm vs GemmPacked, 1 vs 2 threads (slow)")

// TestGemmCompare times Sgemm and GemmPacked at 1 and 2 threads on ViT
// shapes, interleaved, best of 15 (the least noisy statistic on a shared
// machine). Run with -args -gemm.cmp and -v.
func TestGemmCompare(t *testing.T) {
	if !*gemmCmp {
		t.Skip("needs -gemm.cmp")
	}
	shapes := [][3]int{{197, 3072, 768}, {197, 768, 3072}, {577, 768, 3072}, {577, 2304, 768}, {1025, 3072, 768}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		rng := rand.New(rand.NewPCG(1, 2))
		rnd := func(n int) []float32 {
			x := make([]float32, n)
			for i := range x {
				x[i] = rng.Float32() - 0.5
			}
			return x
		}
		a, b, c := rnd(m*k), rnd(k*n), make([]float32, m*n)
		pb := PackB(false, k, n, b, n)
		var best [4]time.Duration
		for r := 0; r < 15; r++ {
			for i := range best {
				th := Threads(1 + i%2)
				t0 := time.Now()
				if i < 2 {
					Sgemm(th, false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				} else {
					GemmPacked(th, m, a, k, pb, c, n, Epilogue{})
				}
				if d := time.Since(t0); best[i] == 0 || d < best[i] {
					best[i] = d
				}
			}
		}
		f := 2 * float64(m*n*k) / 1e9
		g := func(i int) float64 { return f / best[i].Seconds() }
		t.Logf("%v: sgemm %.1f / %.1f GF/s (×%.2f), packed %.1f / %.1f GF/s (×%.2f)", s, g(0), g(1), g(1)/g(0), g(2), g(3), g(3)/g(2))
	}
}
