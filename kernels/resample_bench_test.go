package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// BenchmarkResample resamples position tables the way a ViT meets them:
// ViT-B's 14×14×768 to 64×64 (1024² images) and a 24×24×1024 table to a
// 37×23 grid, bicubic with antialias (timm's default) and bilinear, on one
// thread and on all.
func BenchmarkResample(b *testing.B) {
	for _, tc := range []struct {
		in, out [2]int
		c       int
	}{{[2]int{14, 14}, [2]int{64, 64}, 768}, {[2]int{24, 24}, [2]int{37, 23}, 1024}} {
		for _, mode := range []struct {
			name string
			m    kernels.InterpMode
			aa   bool
		}{{"bicubic_aa", kernels.InterpBicubic, true}, {"bilinear", kernels.InterpBilinear, false}} {
			for _, threads := range []kernels.Threads{1, 0} {
				name := fmt.Sprintf("%dx%dx%d-%dx%d/%s/threads=%d", tc.in[0], tc.in[1], tc.c, tc.out[0], tc.out[1], mode.name, threads)
				b.Run(name, func(b *testing.B) {
					th := kernels.InterpTaps(tc.in[0], tc.out[0], mode.m, false, mode.aa)
					tw := kernels.InterpTaps(tc.in[1], tc.out[1], mode.m, false, mode.aa)
					src := make([]float32, tc.in[0]*tc.in[1]*tc.c)
					rng := rand.New(rand.NewPCG(1, 1))
					for i := range src {
						src[i] = float32(rng.NormFloat64())
					}
					dst := make([]float32, tc.out[0]*tc.out[1]*tc.c)
					flops := kernels.ResampleFlops(th, tw, tc.c)
					kerneltest.Bench(b, func(b *testing.B) {
						b.ReportAllocs()
						b.SetBytes(int64(4 * len(dst)))
						for b.Loop() {
							kernels.Resample(threads, dst, src, tc.c, th, tw)
						}
						b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					})
				})
			}
		}
	}
}
