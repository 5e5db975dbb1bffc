//go:build linux || darwin

package anyres_test

import (
	"os"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/vit"
)

// TestInt8Speed times ViT-B/16 (random weights) in float32, int8 and
// bf16, alternating the models forward by forward so that both see the same load
// on a shared machine, at 224² and 384² on 1 and 2 threads, and reports
// medians of wall and process CPU time, the speed-ups and the heap each
// model holds. It runs only when
// ANYRES_INT8_SPEED is set (it takes minutes):
//
//	ANYRES_INT8_SPEED=5 go test -run Int8Speed -v .
//
// The value is the number of timed forwards per model and configuration.
func TestInt8Speed(t *testing.T) {
	runs := 0
	if v := os.Getenv("ANYRES_INT8_SPEED"); v != "" {
		for _, c := range v {
			runs = runs*10 + int(c-'0')
		}
	}
	if runs <= 0 {
		t.Skip("set ANYRES_INT8_SPEED=N to time N forwards per model")
	}
	cfg := vit.ViTB16()
	cfg.DynamicImgPad = true
	build := func(p nn.Precision) (*vit.Model, uint64) {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		m, err := vit.New(cfg, vit.RandomWeights(cfg, 1), vit.Options{Precision: p})
		if err != nil {
			t.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&m1)
		return m, m1.HeapAlloc - m0.HeapAlloc
	}
	f32, f32Bytes := build(nn.Precision{})
	q8, q8Bytes := build(nn.Precision{DType: nn.Int8})
	bf, bfBytes := build(nn.Precision{DType: nn.BF16})
	info := kernels.Info()
	t.Logf("CPU %s, level %s (VNNI: %v, AVX512-BF16: %v), GOMAXPROCS %d", info.CPU, info.Level, kernels.HasVNNI(), kernels.HasBF16(), runtime.GOMAXPROCS(0))
	t.Logf("heap held after load: f32 %.1f MB, int8 %.1f MB (%.2f×), bf16 %.1f MB (%.2f×)", float64(f32Bytes)/1e6,
		float64(q8Bytes)/1e6, float64(q8Bytes)/float64(f32Bytes), float64(bfBytes)/1e6, float64(bfBytes)/float64(f32Bytes))
	for _, th := range []int{1, 2} {
		for _, s := range []int{224, 384} {
			img := noiseImages(1, 3, [][2]int{{s, s}}, 5)[0]
			models := []*vit.Model{f32.WithThreads(th), q8.WithThreads(th), bf.WithThreads(th)}
			var out vit.Output
			wall := make([][]time.Duration, len(models))
			cpu := make([][]time.Duration, len(models))
			for i := -1; i < runs; i++ { // one warm-up each
				for j, m := range models {
					t0, c0 := time.Now(), processCPU()
					if err := m.Forward(img, &out); err != nil {
						t.Fatal(err)
					}
					if i >= 0 {
						wall[j] = append(wall[j], time.Since(t0))
						cpu[j] = append(cpu[j], processCPU()-c0)
					}
				}
			}
			for _, x := range []struct {
				what string
				d    [][]time.Duration
			}{{"wall", wall}, {"process CPU", cpu}} {
				med := make([]time.Duration, len(models))
				for j := range x.d {
					slices.Sort(x.d[j])
					med[j] = x.d[j][len(x.d[j])/2]
				}
				t.Logf("%d² %d thread(s), %s time, medians of %d: f32 %v, int8 %v (%.2f×), bf16 %v (%.2f×)", s, th, x.what, runs,
					med[0].Round(time.Millisecond), med[1].Round(time.Millisecond), float64(med[0])/float64(med[1]),
					med[2].Round(time.Millisecond), float64(med[0])/float64(med[2]))
			}
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
