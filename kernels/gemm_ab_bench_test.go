//go:build linux

package kernels

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/anyres/anyres/internal/abtest"
)

// vitGemmShapes are the GEMMs of ViT-B/16 (M tokens × N outputs × K
// inputs: qkv, proj, fc1, fc2) at 224², 384², 518×392 and 1024².
func vitGemmShapes() [][3]int {
	var s [][3]int
	for _, m := range []int{197, 577, 1037, 4097} {
		for _, nk := range [][2]int{{2304, 768}, {768, 768}, {3072, 768}, {768, 3072}} {
			s = append(s, [3]int{m, nk[0], nk[1]})
		}
	}
	return s
}

// abGemm times one-thread GemmPacked at the active level on the ViT-B
// shapes (ANYRES_AB_SHAPES=all adds 1037 and 4097 rows; the default keeps
// 197 and 577), alternating set(false) and set(true) call by call in one
// process, and reports per shape the median thread-CPU GFLOP/s of each and
// the median and quartiles of the per-pair speed ratio new/old, with the
// fraction of the level's FMA peak (FMALoop, timed the same way). B cycles
// through copies larger than the last-level cache, as a model's weights
// come from memory. -benchtime=Nx sets the pairs per shape.
func abGemm(b *testing.B, set func(on bool)) {
	defer set(false)
	lvl := Active()
	peak := fmaPeakCPU(lvl)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range vitGemmShapes() {
		m, n, k := s[0], s[1], s[2]
		if m > 577 && os.Getenv("ANYRES_AB_SHAPES") != "all" {
			continue
		}
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			a := randSlice(rng, m*k)
			w := randSlice(rng, n*k)
			ring := make([]*PackedB, max(2, (256<<20)/(4*n*k)))
			for i := range ring {
				ring[i] = PackB(true, k, n, w, k)
			}
			c := make([]float32, m*n)
			flop := 2 * float64(m*n*k)
			var old, cur, ratio []float64
			next := 0
			call := func(on bool) float64 {
				set(on)
				t0 := abtest.ThreadCPU()
				GemmPacked(1, m, a, k, ring[next%len(ring)], c, n, Epilogue{})
				next++
				return flop / (abtest.ThreadCPU() - t0).Seconds() / 1e9
			}
			for i := 0; b.Loop(); i++ {
				var o, nw float64
				if i%2 == 0 {
					o, nw = call(false), call(true)
				} else {
					nw, o = call(true), call(false)
				}
				old, cur, ratio = append(old, o), append(cur, nw), append(ratio, nw/o)
			}
			q := abtest.Quantile
			b.ReportMetric(q(old, 0.5), "old-GFLOP/s")
			b.ReportMetric(q(cur, 0.5), "new-GFLOP/s")
			b.ReportMetric(q(old, 0.5)/peak, "old-peak")
			b.ReportMetric(q(cur, 0.5)/peak, "new-peak")
			b.ReportMetric(q(ratio, 0.25), "ratio-q1")
			b.ReportMetric(q(ratio, 0.5), "ratio")
			b.ReportMetric(q(ratio, 0.75), "ratio-q3")
		})
	}
}

// fmaPeakCPU is the level's FMA peak in GFLOP/s by thread CPU time: the
// best of a few 20 ms runs of FMALoop.
func fmaPeakCPU(l Level) float64 {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	best := 0.0
	for range 5 {
		iters := 1 << 20
		t0 := abtest.ThreadCPU()
		var flops int64
		for start := time.Now(); time.Since(start) < 20*time.Millisecond; {
			f, _ := FMALoop(l, iters)
			flops += f
		}
		best = max(best, float64(flops)/(abtest.ThreadCPU()-t0).Seconds()/1e9)
	}
	return best
}

// BenchmarkGemmDirectA compares reading A in place (new) with packing it
// (old):
//
//	go test ./kernels -run - -bench GemmDirectA -benchtime 60x
func BenchmarkGemmDirectA(b *testing.B) {
	mk := gemmLevel
	saved := mk.kernelA
	if saved == nil {
		b.Skip("this level packs A only")
	}
	abGemm(b, func(on bool) {
		mk.kernelA = nil
		if on {
			mk.kernelA = saved
		}
	})
}

// BenchmarkGemmBlockAB compares the level's cache blocks (old) with the
// row and K blocks in ANYRES_AB_MC and ANYRES_AB_KC (new; each defaults to
// the level's), A read in place or packed as the level does:
//
//	ANYRES_AB_KC=256 go test ./kernels -run - -bench GemmBlockAB -benchtime 60x
func BenchmarkGemmBlockAB(b *testing.B) {
	mk := gemmLevel
	saved := *mk
	mc, kc := envInt("ANYRES_AB_MC", mk.mc), envInt("ANYRES_AB_KC", mk.kc)
	abGemm(b, func(on bool) {
		mk.mc, mk.kc = saved.mc, saved.kc
		if on {
			mk.mc, mk.kc = mc, kc
		}
	})
}

func envInt(name string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(name), &v); err != nil || v <= 0 {
		return def
	}
	return v
}
