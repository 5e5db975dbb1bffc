//go:build linux || darwin

package anyres_test

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/vit"
)

// BenchmarkDTypes times ViT-B/16 (random weights) in float32, int8, int8
// with 7-bit weights (int8rr: Precision.ReduceRange) and bf16, alternating
// the four models forward by forward so that all see
// the same load on a shared machine; each iteration is one forward of each.
// It reports each format's wall and process-CPU milliseconds per forward,
// the speed-ups over float32 and the heap each model holds:
//
//	go test -run - -bench DTypes -benchtime 7x .
func BenchmarkDTypes(b *testing.B) {
	cfg := vit.ViTB16()
	cfg.DynamicImgPad = true
	names := []string{"f32", "int8", "int8rr", "bf16"}
	var models []*vit.Model
	var heap []float64
	for _, p := range []nn.Precision{{DType: nn.F32}, {DType: nn.Int8}, {DType: nn.Int8, ReduceRange: true}, {DType: nn.BF16}} {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		m, err := vit.New(cfg, vit.RandomWeights(cfg, 1), vit.Options{Precision: p})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		models = append(models, m)
		heap = append(heap, float64(m1.HeapAlloc-m0.HeapAlloc)/1e6)
	}
	for _, th := range []int{1, 2} {
		for _, s := range []int{224, 384} {
			b.Run(fmt.Sprintf("%dx%d/threads=%d", s, s, th), func(b *testing.B) {
				img := noiseImages(1, 3, [][2]int{{s, s}}, 5)[0]
				var out vit.Output
				ms := make([]*vit.Model, len(models))
				for j, m := range models {
					ms[j] = m.WithThreads(th).(*vit.Model)
					if err := ms[j].Forward(img, &out); err != nil { // warm-up
						b.Fatal(err)
					}
				}
				wall := make([]time.Duration, len(ms))
				cpu := make([]time.Duration, len(ms))
				for b.Loop() {
					for j, m := range ms {
						t0, c0 := time.Now(), processCPU()
						m.Forward(img, &out)
						wall[j] += time.Since(t0)
						cpu[j] += processCPU() - c0
					}
				}
				for j, name := range names {
					b.ReportMetric(wall[j].Seconds()*1e3/float64(b.N), name+"-ms")
					b.ReportMetric(cpu[j].Seconds()*1e3/float64(b.N), name+"-cpu-ms")
					b.ReportMetric(heap[j], name+"-heap-MB")
					if j > 0 {
						b.ReportMetric(float64(wall[0])/float64(wall[j]), name+"-speedup")
					}
				}
			})
		}
	}
}

// processCPU is the CPU time of the whole process (all threads): on a
// shared machine it counts the work done, not the time waited for a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
