//go:build linux

package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"testing"
)

// BenchmarkBF16PrefetchAB compares one-thread GemmBF16 below AMX with the
// raw bfloat16 panels prefetched one tile column ahead (old) and
// ANYRES_AB_AHEAD columns ahead (new, default 2), alternating call by call
// in one process on the ViT-B/16 shapes at 224² with weights cycled
// through copies larger than the last-level cache; it reports the median
// thread-CPU GFLOP/s of each and the quartiles of the per-pair ratio
// new/old:
//
//	ANYRES_KERNELS=avx512 go test ./kernels -run - -bench BF16PrefetchAB -benchtime 60x
func BenchmarkBF16PrefetchAB(b *testing.B) {
	if bLevel != nil {
		b.Skip("this level runs bfloat16 on its own kernel")
	}
	saved := bfPrefetchAhead
	defer func() { bfPrefetchAhead = saved }()
	ahead := 2
	if _, err := fmt.Sscan(os.Getenv("ANYRES_AB_AHEAD"), &ahead); err != nil || ahead < 0 {
		ahead = 2 // 0 turns the raw-panel prefetch off
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const m = 197
	for _, nk := range [][2]int{{2304, 768}, {768, 768}, {3072, 768}, {768, 3072}} {
		n, k := nk[0], nk[1]
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			a := randSlice(rng, m*k)
			w := randSlice(rng, n*k)
			ring := make([]*BF16B, max(2, (256<<20)/(2*n*k)))
			for i := range ring {
				ring[i] = NewBF16B(k, n, w, k)
			}
			c := make([]float32, m*n)
			ep := Epilogue{Bias: randSlice(rng, n)}
			flop := 2 * float64(m*n*k)
			var old, cur, ratio []float64
			next := 0
			call := func(d int) float64 {
				bfPrefetchAhead = d
				t0 := threadCPU()
				GemmBF16(1, m, a, k, ring[next%len(ring)], c, n, ep)
				next++
				return flop / (threadCPU() - t0) / 1e9
			}
			for i := 0; b.Loop(); i++ {
				var o, nw float64
				if i%2 == 0 {
					o, nw = call(1), call(ahead)
				} else {
					nw, o = call(ahead), call(1)
				}
				old, cur, ratio = append(old, o), append(cur, nw), append(ratio, nw/o)
			}
			q := func(x []float64, f float64) float64 {
				x = slices.Clone(x)
				slices.Sort(x)
				return x[int(f*float64(len(x)-1))]
			}
			b.ReportMetric(q(old, 0.5), "old-GFLOP/s")
			b.ReportMetric(q(cur, 0.5), "new-GFLOP/s")
			b.ReportMetric(q(ratio, 0.25), "ratio-q1")
			b.ReportMetric(q(ratio, 0.5), "ratio")
			b.ReportMetric(q(ratio, 0.75), "ratio-q3")
		})
	}
}
