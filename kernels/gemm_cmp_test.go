package kernels

import (
	"flag"
	"math/rand/v2"
	"testing"
	"time"
)

var gemmCmp = flag.Bool("gemm.cmp", false, "run TestGemmCompareOps")

func TestGemmCompareOps(t *testing.T) {
	if !*gemmCmp {
		t.Skip()
	}
	for _, s := range [][3]int{{197, 3072, 768}, {197, 768, 768}, {577, 2304, 768}} {
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
		var best [3]time.Duration
		for r := 0; r < 15; r++ {
			for i := 0; i < 3; i++ {
				t0 := time.Now()
				switch i {
				case 0:
					Sgemm(1, false, false, m, n, k, 1, a, k, b, n, 0, c, n)
				case 1:
					GemmPacked(1, m, a, k, pb, c, n, Epilogue{})
				case 2:
					packBPanels(pb.data, false, k, n, b, n, 0, panelsOf(n))
				}
				if d := time.Since(t0); best[i] == 0 || d < best[i] {
					best[i] = d
				}
			}
		}
		f := 2 * float64(m*n*k) / 1e9
		t.Logf("%v: sgemm %.1f GF/s, packed %.1f GF/s, packB alone %.2f ms (%.1f%% of sgemm)", s, f/best[0].Seconds(), f/best[1].Seconds(), best[2].Seconds()*1e3, 100*best[2].Seconds()/best[0].Seconds())
	}
}
