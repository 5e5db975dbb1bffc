package hiera

import (
	"fmt"
	"sync"
	"testing"

	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/nn"
)

var benchModel struct {
	once sync.Once
	m    *Model
	err  error
}

// small is hiera_small_abswin_256 with random weights (built once) on
// threads workers.
func small(b *testing.B, threads int) *Model {
	benchModel.once.Do(func() {
		cfg := SmallAbsWin256()
		benchModel.m, benchModel.err = newModel(cfg, RandomWeights(cfg, 1), options{})
	})
	if benchModel.err != nil {
		b.Fatal(benchModel.err)
	}
	return benchModel.m.withThreads(threads)
}

// BenchmarkSmallAbsWin times hiera_small_abswin_256 at its training size
// and at a larger, non-square one.
//
//	go test ./hiera -run - -bench SmallAbsWin -benchtime 3x
func BenchmarkSmallAbsWin(b *testing.B) {
	for _, s := range [][2]int{{256, 256}, {512, 384}} {
		b.Run(fmt.Sprintf("%dx%d/threads=2", s[0], s[1]), func(b *testing.B) {
			m := small(b, 2)
			familytest.Bench(b, m, s[0], s[1], m.FLOPs)
		})
	}
}

// BenchmarkBatch times four 96² images packed in one ForwardBatch and one
// after another.
func BenchmarkBatch(b *testing.B) {
	for _, packed := range []bool{false, true} {
		b.Run(fmt.Sprintf("96²/packed=%v/threads=2", packed), func(b *testing.B) {
			m := small(b, 2)
			imgs := make([]nn.Image, 4)
			for i := range imgs {
				imgs[i] = familytest.BenchImage(96, 96)
			}
			outs := make([]nn.Output, len(imgs))
			run := func() {
				if packed {
					m.ForwardBatch(imgs, outs)
					return
				}
				for i := range imgs {
					m.Forward(imgs[i], &outs[i])
				}
			}
			run()
			b.ReportAllocs()
			for b.Loop() {
				run()
			}
			b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N)/float64(len(imgs)), "ms/image")
		})
	}
}
