//go:build anyres_ab && linux

package vit

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/anyres/anyres/internal/abtest"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
)

// BenchmarkViTB16BF16Ahead compares one-thread bf16 ViT-B/16 forwards
// with GemmBF16 widening ahead (new) or each tile just before its row
// tiles (old), with the float32 model in the same rounds, the three
// alternating in one process; it reports the median and quartiles of the
// per-round thread-CPU ratio old/new and f32/bf16 for each (> 1: faster
// than float32):
//
//	ANYRES_KERNELS=avx512 go test -tags anyres_ab ./vit -run - -bench ViTB16BF16Ahead -benchtime 15x
func BenchmarkViTB16BF16Ahead(b *testing.B) {
	defer kernels.SetBF16WidenAhead(true)
	for _, s := range [][2]int{{224, 224}} {
		b.Run(fmt.Sprintf("%dx%d", s[0], s[1]), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			f32 := b16(b, 1)
			bf := b16opts(b, 1, Options{Precision: nn.Precision{DType: nn.BF16}})
			img := benchImage(s[0], s[1])
			var out Output
			fwd := func(m *Model) float64 {
				t0 := abtest.ThreadCPU()
				if err := m.Forward(img, &out); err != nil {
					b.Fatal(err)
				}
				return (abtest.ThreadCPU() - t0).Seconds()
			}
			bfFwd := func(on bool) float64 {
				kernels.SetBF16WidenAhead(on)
				return fwd(bf)
			}
			fwd(f32)
			bfFwd(false)
			bfFwd(true)
			var ratio, vsOld, vsNew, old, cur, f []float64
			for i := 0; b.Loop(); i++ {
				var o, n, t float64
				switch i % 3 {
				case 0:
					t, o, n = fwd(f32), bfFwd(false), bfFwd(true)
				case 1:
					n, t, o = bfFwd(true), fwd(f32), bfFwd(false)
				default:
					o, n, t = bfFwd(false), bfFwd(true), fwd(f32)
				}
				old, cur, f = append(old, o), append(cur, n), append(f, t)
				ratio, vsOld, vsNew = append(ratio, o/n), append(vsOld, t/o), append(vsNew, t/n)
			}
			q := abtest.Quantile
			b.ReportMetric(1e3*q(f, 0.5), "f32-cpu-ms")
			b.ReportMetric(1e3*q(old, 0.5), "old-cpu-ms")
			b.ReportMetric(1e3*q(cur, 0.5), "new-cpu-ms")
			b.ReportMetric(q(ratio, 0.25), "ratio-q1")
			b.ReportMetric(q(ratio, 0.5), "ratio")
			b.ReportMetric(q(ratio, 0.75), "ratio-q3")
			b.ReportMetric(q(vsOld, 0.5), "old-vs-f32")
			b.ReportMetric(q(vsNew, 0.5), "new-vs-f32")
		})
	}
}
