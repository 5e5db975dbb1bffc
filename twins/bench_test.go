package twins

import (
	"fmt"
	"sync"
	"testing"

	"github.com/anyres/anyres/nn"
)

var benchModel struct {
	once sync.Once
	m    *Model
	err  error
}

// small is twins_pcpvt_small with random weights (built once) on threads
// workers.
func small(b *testing.B, threads int) *Model {
	benchModel.once.Do(func() {
		cfg := PCPVTSmall()
		benchModel.m, benchModel.err = New(cfg, RandomWeights(cfg, 1), Options{})
	})
	if benchModel.err != nil {
		b.Fatal(benchModel.err)
	}
	return benchModel.m.WithThreads(threads)
}

// BenchmarkPCPVTSmall times twins_pcpvt_small at its training size and at
// a larger, non-square one.
//
//	go test ./twins -run - -bench PCPVTSmall -benchtime 3x
func BenchmarkPCPVTSmall(b *testing.B) {
	for _, s := range [][2]int{{224, 224}, {384, 512}} {
		b.Run(fmt.Sprintf("%dx%d/threads=2", s[0], s[1]), func(b *testing.B) {
			m := small(b, 2)
			pix := make([]float32, 3*s[0]*s[1])
			for i := range pix {
				pix[i] = float32(i%251)/125 - 1
			}
			img := nn.Image{C: 3, H: s[0], W: s[1], Pix: pix}
			var out nn.Output
			if err := m.Forward(img, &out); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				m.Forward(img, &out)
			}
		})
	}
}
