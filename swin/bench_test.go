package swin

import (
	"fmt"
	"testing"

	"github.com/anyres/anyres/kernels/kerneltest"
)

// The timm -T models: swin_tiny_patch4_window7_224 and
// swinv2_tiny_window8_256 (28M parameters, 1000 classes).
var (
	swinTiny = Config{PatchSize: [2]int{4, 4}, EmbedDim: 96, Depths: []int{2, 2, 6, 2}, NumHeads: []int{3, 6, 12, 24},
		WindowSize: [2]int{7, 7}, NormEps: 1e-5, NumClasses: 1000, GlobalPool: "avg", ImgSize: [2]int{224, 224}}
	swinV2Tiny = Config{Version: 2, PatchSize: [2]int{4, 4}, EmbedDim: 96, Depths: []int{2, 2, 6, 2}, NumHeads: []int{3, 6, 12, 24},
		WindowSize: [2]int{8, 8}, NormEps: 1e-5, NumClasses: 1000, GlobalPool: "avg", ImgSize: [2]int{256, 256}}
)

// BenchmarkForward times Swin-T v1 and V2 (random weights) at their
// training size and at twice its side, one image per forward pass, on
// every kernel level: go test -bench Forward -run - ./swin
func BenchmarkForward(b *testing.B) {
	for _, tc := range []struct {
		name  string
		cfg   Config
		sizes []int
	}{{"v1_tiny_window7", swinTiny, []int{224, 448}}, {"v2_tiny_window8", swinV2Tiny, []int{256, 512}}} {
		src, err := RandomWeights(tc.cfg, 1)
		if err != nil {
			b.Fatal(err)
		}
		m, err := newModel(tc.cfg, src, options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name, func(b *testing.B) {
			kerneltest.Bench(b, func(b *testing.B) {
				for _, s := range tc.sizes {
					img := Image{C: 3, H: s, W: s, Pix: make([]float32, 3*s*s)}
					for i := range img.Pix {
						img.Pix[i] = float32(i%251)/125 - 1
					}
					b.Run(fmt.Sprintf("%dx%d", s, s), func(b *testing.B) {
						var out Output
						b.ReportAllocs()
						for b.Loop() {
							if err := m.Forward(img, &out); err != nil {
								b.Fatal(err)
							}
						}
						b.ReportMetric(m.FLOPs(s, s)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					})
				}
			})
		})
		m.Close()
	}
}
