//go:build linux

package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/anyres/anyres/internal/abtest"
)

// BenchmarkBF16AheadAB: one thread, GemmBF16 at the ViT-B/16 shapes of
// 224² and 384² (M = 197, 577) widening ahead (new) or each tile just
// before its row tiles (old), with float32 GemmPacked on the same values,
// the three alternating call by call in one process on weights cycled
// past the last-level cache. Per shape: median thread-CPU GFLOP/s of
// each, the median and quartiles of the per-round ratio new/old speed,
// and f32-time/bf16-time for old and new (> 1: bf16 faster).
//
//	ANYRES_KERNELS=avx512 go test ./kernels -run - -bench BF16AheadAB -benchtime 40x
func BenchmarkBF16AheadAB(b *testing.B) {
	defer func() { bWidenAhead = true }()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range vitGemmShapes() {
		m, n, k := s[0], s[1], s[2]
		if m > 577 {
			continue
		}
		b.Run(fmt.Sprintf("%dx%dx%d", m, n, k), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			a := randSlice(rng, m*k)
			w := randSlice(rng, n*k)
			copies := max(2, (256<<20)/(4*n*k))
			fs := make([]*PackedB, copies)
			bs := make([]*BF16B, copies)
			wr := make([]float32, len(w))
			for i, v := range w {
				wr[i] = FromBF16(ToBF16(v))
			}
			for i := range fs {
				fs[i] = PackB(true, k, n, wr, k)
				bs[i] = NewBF16B(k, n, w, k)
			}
			c := make([]float32, m*n)
			flop := 2 * float64(m*n*k)
			next := 0
			timed := func(f func()) float64 {
				t0 := abtest.ThreadCPU()
				f()
				next++
				return (abtest.ThreadCPU() - t0).Seconds()
			}
			bfCall := func(on bool) float64 {
				bWidenAhead = on
				return timed(func() { GemmBF16(1, m, a, k, bs[next%copies], c, n, Epilogue{}) })
			}
			f32Call := func() float64 {
				return timed(func() { GemmPacked(1, m, a, k, fs[next%copies], c, n, Epilogue{}) })
			}
			var old, cur, f32, ratio, vsOld, vsNew []float64
			for i := 0; b.Loop(); i++ {
				var o, nw, f float64
				switch i % 3 {
				case 0:
					f, o, nw = f32Call(), bfCall(false), bfCall(true)
				case 1:
					nw, f, o = bfCall(true), f32Call(), bfCall(false)
				default:
					o, nw, f = bfCall(false), bfCall(true), f32Call()
				}
				old, cur, f32 = append(old, flop/o/1e9), append(cur, flop/nw/1e9), append(f32, flop/f/1e9)
				ratio, vsOld, vsNew = append(ratio, o/nw), append(vsOld, f/o), append(vsNew, f/nw)
			}
			q := abtest.Quantile
			b.ReportMetric(q(f32, 0.5), "f32-GFLOP/s")
			b.ReportMetric(q(old, 0.5), "old-GFLOP/s")
			b.ReportMetric(q(cur, 0.5), "new-GFLOP/s")
			b.ReportMetric(q(ratio, 0.25), "ratio-q1")
			b.ReportMetric(q(ratio, 0.5), "ratio")
			b.ReportMetric(q(ratio, 0.75), "ratio-q3")
			b.ReportMetric(q(vsOld, 0.5), "old-vs-f32")
			b.ReportMetric(q(vsNew, 0.5), "new-vs-f32")
		})
	}
}
