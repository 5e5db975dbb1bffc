package kernels

import (
	"fmt"
	"testing"
)

// BenchmarkGemmMicroKernel measures each level's full-tile micro-kernel on
// L1-resident panels: the ceiling the blocking can approach.
func BenchmarkGemmMicroKernel(b *testing.B) {
	for _, l := range Levels() {
		b.Run(l.String(), func(b *testing.B) {
			restore, err := SetLevel(l)
			if err != nil {
				b.Fatal(err)
			}
			defer restore()
			mk := gemmLevel
			const kc = 256
			a := make([]float32, mk.mr*kc)
			bp := make([]float32, 2*gemmPanel*kc)
			c := make([]float32, mk.mr*mk.nr)
			for i := range a {
				a[i] = 1e-3
			}
			for i := range bp {
				bp[i] = 1e-3
			}
			b1 := &bp[0]
			if mk.nr > gemmPanel {
				b1 = &bp[gemmPanel*kc]
			}
			kern := mk.kernel[mk.mr-1]
			for b.Loop() {
				kern(kc, &a[0], &bp[0], b1, &c[0], mk.nr, 1, nil, &bp[0])
			}
			flops := 2 * float64(mk.mr*mk.nr*kc) * float64(b.N)
			b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			_ = fmt.Sprint()
		})
	}
}

// BenchmarkGemmPackB measures packing a ViT-B MLP weight, both layouts.
func BenchmarkGemmPackB(b *testing.B) {
	const k, n = 768, 3072
	src := make([]float32, k*n)
	dst := make([]float32, packedBLen(k, n))
	for _, trans := range []bool{false, true} {
		b.Run(fmt.Sprintf("trans=%v", trans), func(b *testing.B) {
			ld := n
			if trans {
				ld = k
			}
			for b.Loop() {
				packBPanels(dst, trans, k, n, src, ld, 0, panelsOf(n), 0, k)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(k*n), "ns/elem")
		})
	}
}

// BenchmarkGemmPackA measures packing a 168×768 block of A (from rows
// 3072 floats apart, as an MLP's hidden activations), both layouts.
func BenchmarkGemmPackA(b *testing.B) {
	const m, k = 168, 768
	src := make([]float32, m*3072)
	dst := make([]float32, m*k+gemmPackSlack)
	goOnly := *gemmLevel
	goOnly.packPanel = nil
	for _, v := range []struct {
		name  string
		mk    *gemmMicro
		trans bool
	}{{"level", gemmLevel, false}, {"go", &goOnly, false}, {"trans", gemmLevel, true}} {
		b.Run(v.name, func(b *testing.B) {
			ld := 3072
			if v.trans {
				ld = m
			}
			for b.Loop() {
				packA(v.mk, dst, v.trans, src, ld, 1, m, 0, m, 0, k)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(k*m), "ns/elem")
		})
	}
}
