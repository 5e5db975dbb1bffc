//go:build anyres_ab && linux

package vit

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/anyres/anyres/internal/abtest"
	"github.com/anyres/anyres/kernels"
)

// BenchmarkViTB16DirectA compares one-thread ViT-B/16 forwards with the
// GEMM reading A in place (new) and packing it (old), alternating forward
// by forward in one process; it reports the median and quartiles of the
// per-pair thread-CPU speed ratio new/old:
//
//	go test -tags anyres_ab ./vit -run - -bench ViTB16DirectA -benchtime 20x
func BenchmarkViTB16DirectA(b *testing.B) {
	defer kernels.SetGemmDirectA(true)
	for _, s := range [][2]int{{224, 224}, {384, 384}} {
		b.Run(fmt.Sprintf("%dx%d", s[0], s[1]), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			m := b16(b, 1)
			img := benchImage(s[0], s[1])
			var out Output
			fwd := func(on bool) float64 {
				kernels.SetGemmDirectA(on)
				t0 := abtest.ThreadCPU()
				if err := m.Forward(img, &out); err != nil {
					b.Fatal(err)
				}
				return (abtest.ThreadCPU() - t0).Seconds()
			}
			fwd(false)
			fwd(true)
			var ratio, old, cur []float64
			for i := 0; b.Loop(); i++ {
				var o, n float64
				if i%2 == 0 {
					o, n = fwd(false), fwd(true)
				} else {
					n, o = fwd(true), fwd(false)
				}
				old, cur, ratio = append(old, o), append(cur, n), append(ratio, o/n)
			}
			q := abtest.Quantile
			b.ReportMetric(1e3*q(old, 0.5), "old-cpu-ms")
			b.ReportMetric(1e3*q(cur, 0.5), "new-cpu-ms")
			b.ReportMetric(q(ratio, 0.25), "ratio-q1")
			b.ReportMetric(q(ratio, 0.5), "ratio")
			b.ReportMetric(q(ratio, 0.75), "ratio-q3")
		})
	}
}
