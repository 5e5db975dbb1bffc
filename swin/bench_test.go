package swin

import (
	"testing"

	"github.com/anyres/anyres/kernels/kerneltest"
)

// BenchmarkForward times the golden model at each golden size.
func BenchmarkForward(b *testing.B) {
	f, m := loadGolden(b, Options{})
	kerneltest.Bench(b, func(b *testing.B) {
		for _, c := range f.Cases {
			img := goldenImage(b, f, c.Name)
			b.Run(c.Name, func(b *testing.B) {
				var out Output
				b.ReportAllocs()
				for b.Loop() {
					if err := m.Forward(img, &out); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	})
}
