package sam

import (
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/anyres/anyres/internal/familytest"
)

var base struct {
	once sync.Once
	m    *Model
	heap uint64 // live heap with the weights loaded
	err  error
}

// samBase is samvit_base_patch16 with random weights (built once).
func samBase(b *testing.B) *Model {
	base.once.Do(func() {
		cfg := SAMBase()
		src := RandomWeights(cfg, 1)
		base.m, base.err = newModel(cfg, src, options{})
		src = nil
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base.heap = ms.HeapAlloc
	})
	if base.err != nil {
		b.Fatal(base.err)
	}
	return base.m
}

// BenchmarkSAMBase times SAM's ViT-B image encoder (samvit_base_patch16,
// random weights) on two threads at its training size, 1024², and at
// 512×768, with the live heap once warm (weights and workspace) and the
// weights alone:
//
//	go test ./sam -run - -bench SAMBase -benchtime 3x
func BenchmarkSAMBase(b *testing.B) {
	for _, s := range [][2]int{{1024, 1024}, {512, 768}} {
		b.Run(fmt.Sprintf("%dx%d/threads=2", s[0], s[1]), func(b *testing.B) {
			m := samBase(b).WithThreads(2)
			familytest.Bench(b, m, s[0], s[1], m.FLOPs)
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "heapMB")
			b.ReportMetric(float64(base.heap)/(1<<20), "weightsMB")
		})
	}
}
