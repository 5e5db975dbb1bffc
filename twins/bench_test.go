package twins

import (
	"fmt"
	"sync"
	"testing"

	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/nn"
)

var benchModels struct {
	sync.Mutex
	m map[string]*Model
}

// sized is a full-size timm model with random weights (built once) on
// threads workers.
func sized(b *testing.B, name string, cfg Config, threads int) *Model {
	benchModels.Lock()
	defer benchModels.Unlock()
	if benchModels.m == nil {
		benchModels.m = map[string]*Model{}
	}
	m := benchModels.m[name]
	if m == nil {
		var err error
		if m, err = newModel(cfg, RandomWeights(cfg, 1), options{}); err != nil {
			b.Fatal(err)
		}
		benchModels.m[name] = m
	}
	return m.withThreads(threads)
}

// BenchmarkSmall times twins_pcpvt_small and twins_svt_small at their
// training size and at a larger, non-square one.
//
//	go test ./twins -run - -bench Small -benchtime 3x
func BenchmarkSmall(b *testing.B) {
	for _, mc := range []struct {
		name string
		cfg  Config
	}{{"pcpvt", PCPVTSmall()}, {"svt", SVTSmall()}} {
		for _, s := range [][2]int{{224, 224}, {384, 512}} {
			b.Run(fmt.Sprintf("%s/%dx%d/threads=2", mc.name, s[0], s[1]), func(b *testing.B) {
				m := sized(b, mc.name, mc.cfg, 2)
				familytest.Bench(b, m, s[0], s[1], m.FLOPs)
			})
		}
	}
}

// BenchmarkBatch times four images through twins_svt_small packed in one
// ForwardBatch and one after another.
//
//	go test ./twins -run - -bench Batch -benchtime 3x
func BenchmarkBatch(b *testing.B) {
	for _, side := range []int{224, 96} {
		for _, packed := range []bool{false, true} {
			b.Run(fmt.Sprintf("%d²/packed=%v/threads=2", side, packed), func(b *testing.B) { batch(b, side, packed) })
		}
	}
}

func batch(b *testing.B, side int, packed bool) {
	imgs := make([]nn.Image, 4)
	for i := range imgs {
		imgs[i] = familytest.BenchImage(side, side)
	}
	outs := make([]nn.Output, len(imgs))
	m := sized(b, "svt", SVTSmall(), 2)
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
}
