package bench

import (
	"fmt"
	"runtime"
	"time"

	"github.com/anyres/anyres"
)

// Model times one forward pass of an H×W image through any loaded model:
// median milliseconds, GFLOP/s, tokens, the CPU time per forward, the Go
// heap's and the process's resident high-water marks during the runs (the
// latter as bench/peers/family_onnxruntime.py compares with ONNX Runtime).
func Model(m anyres.Model, name string, h, w int, headOnly bool, budget time.Duration) (Result, error) {
	info := m.Info()
	img := randomImage(h, w)
	img.C = info.Channels
	img.Pix = img.Pix[:0]
	for i := 0; i < info.Channels*h*w; i++ {
		img.Pix = append(img.Pix, float32(i%251)/125-1)
	}
	out := anyres.Output{HeadOnly: headOnly}
	runtime.GC()
	resetPeakRSS()
	stop := heapPeak()
	cpu0, _ := processCPU()
	med, reps, err := timeIt(2, 50, budget, func() error { return m.Forward(img, &out) })
	cpu1, cpuOK := processCPU()
	peak := stop()
	runRSS := peakRSS()
	if err != nil {
		return Result{}, fmt.Errorf("%s at %dx%d: %w", name, h, w, err)
	}
	ms := float64(med) / 1e6
	f := map[string]any{
		"model": name, "family": info.Family, "size": fmt.Sprintf("%dx%d", h, w),
		"tokens": out.Prefix + out.Grid.N(), "ms": round(ms, 2), "reps": reps,
		"heap_peak_mb": round(float64(peak)/(1<<20), 1),
		// CPU time per forward (all threads, warm-up included): on a
		// shared machine it leaves out the time spent waiting for a core.
		"cpu_ms":          cpuMS(cpuOK, cpu1-cpu0, reps+1),
		"run_peak_rss_mb": round(float64(runRSS)/(1<<20), 1),
	}
	f["gflops"] = round(m.FLOPs(h, w)/ms/1e6, 1) // the whole forward's count, also with headOnly
	if headOnly {
		f["output"] = "head"
	}
	return Result{Kind: "model", Fields: f}, nil
}
