package kernels_test

import (
	"fmt"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// BenchmarkRelBias compares the two relative-bias kernels on one head of a
// Swin window or a BEiT grid (14×14 at 224²; 12 heads in a block): gathers
// by index, and contiguous runs.
func BenchmarkRelBias(b *testing.B) {
	for _, w := range []int{7, 14, 24} {
		win := kernels.NewRelWindow(w, w)
		n := w * w
		idx := make([]int32, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				idx[i*n+j] = int32((i/w-j/w+w-1)*(2*w-1) + i%w - j%w + w - 1)
			}
		}
		ix := kernels.NewRelIndex(idx, n, win.Rows())
		table := make([]float32, win.Rows())
		scores := make([]float32, n*n)
		for _, kind := range []string{"gather", "window"} {
			b.Run(fmt.Sprintf("%dx%d_h12_%s", w, w, kind), func(b *testing.B) {
				kerneltest.Bench(b, func(b *testing.B) {
					b.ReportAllocs()
					for i := 0; i < b.N; i++ {
						for h := 0; h < 12; h++ {
							if kind == "gather" {
								kernels.RelBiasAdd(scores, table, ix, 0, n)
							} else {
								kernels.RelBiasAddWindow(scores, n, table, win, 0, n)
							}
						}
					}
					b.ReportMetric(float64(12*n*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gvalues/s")
				})
			})
		}
	}
}

// BenchmarkRopeRotate: q of 577 tokens × 12 heads × 64.
func BenchmarkRopeRotate(b *testing.B) {
	const tokens, heads, hd = 577, 12, 64
	x := make([]float32, tokens*heads*hd)
	sin, cos := make([]float32, tokens*hd), make([]float32, tokens*hd)
	kerneltest.Bench(b, func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			kernels.RopeRotate(x, heads*hd, sin, cos, tokens, heads, hd)
		}
		b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gvalues/s")
	})
}

// BenchmarkRopeRotateHalf: the same in the half layout (DINOv3).
func BenchmarkRopeRotateHalf(b *testing.B) {
	const tokens, heads, hd = 577, 12, 64
	x := make([]float32, tokens*heads*hd)
	sin, cos := make([]float32, tokens*hd/2), make([]float32, tokens*hd/2)
	kerneltest.Bench(b, func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			kernels.RopeRotateHalf(x, heads*hd, sin, cos, tokens, heads, hd)
		}
		b.ReportMetric(float64(len(x))*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gvalues/s")
	})
}

// BenchmarkDWConv3x3: 24×24×768 with the residual (PEG's shape).
func BenchmarkDWConv3x3(b *testing.B) {
	const h, w, c = 24, 24, 768
	dst := make([]float32, h*w*c)
	padded := make([]float32, (h+2)*(w+2)*c)
	weight, bias := make([]float32, 9*c), make([]float32, c)
	kerneltest.Bench(b, func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			kernels.DWConv3x3(dst, padded, weight, bias, h, w, c, true)
		}
		b.ReportMetric(2*9*float64(len(dst))*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
