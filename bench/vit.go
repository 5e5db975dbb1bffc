package bench

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/vit"
)

// The ViT benchmarks run ViT-B/16 (dim 768, depth 12, 12 heads, MLP 3072,
// learned position table resampled to each grid, cached) with random
// weights: timing does not depend on the values.

// benchMaxTokens is the token cap of the benchmarks: high enough for a
// 4096² image at patch 16 (65 537 tokens), which a benchmark asks for on
// purpose.
const benchMaxTokens = 1 << 17

var vitB16 struct {
	mu     sync.Mutex
	models map[vitKey]*vit.Model
}

// vitKey tells vitB16's models apart: dtype and reduce range.
type vitKey struct {
	dtype       string
	reduceRange bool
}

// vitModel returns ViT-B/16 with its Linear layers in prec's DType (f32,
// bf16 or int8; with ReduceRange, 7-bit int8 weights) running on the given
// number of threads; the weights are made and packed once per process and
// precision. prec's other fields must be zero.
func vitModel(prec nn.Precision, threads int) (*vit.Model, error) {
	if prec.KeepF32 != nil || prec.OnSmooth != nil || prec.Calibration != nil {
		return nil, fmt.Errorf("bench: ViT-B/16 takes a dtype and reduce range only")
	}
	if err := prec.Check(); err != nil {
		return nil, err
	}
	dt, _ := nn.ParseDType(prec.DType)
	key := vitKey{dt, prec.ReduceRange}
	vitB16.mu.Lock()
	defer vitB16.mu.Unlock()
	m := vitB16.models[key]
	if m == nil {
		cfg := vit.ViTB16()
		cfg.DynamicImgPad = true
		net, err := RandomViT(cfg, anyres.Options{Threads: 1, MaxTokens: benchMaxTokens, DType: dt, ReduceRange: prec.ReduceRange})
		if err != nil {
			return nil, err
		}
		var ok bool
		if m, ok = net.(*vit.Model); !ok {
			net.Close()
			return nil, fmt.Errorf("bench: the front door loaded ViT-B/16 as %s, not vit", net.Info().Family)
		}
		runtime.GC() // the unpacked matrices are garbage now
		if vitB16.models == nil {
			vitB16.models = map[vitKey]*vit.Model{}
		}
		vitB16.models[key] = m
	}
	return m.WithThreads(threads).(*vit.Model), nil
}

// randomImage is a C×H×W image of small values.
func randomImage(h, w int) vit.Image {
	pix := make([]float32, 3*h*w)
	for i := range pix {
		pix[i] = float32(i%251)/125 - 1
	}
	return vit.Image{C: 3, H: h, W: w, Pix: pix}
}

// heapPeak samples the Go heap (live and not yet collected objects) until
// stopped and returns the highest value seen: every millisecond while the
// heap sets new highs, backing off to every heapSampleCoarse while not.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() (higher bool) {
		metrics.Read(sample)
		if v := sample[0].Value.Uint64(); v > peak.Load() {
			peak.Store(v)
			return true
		}
		return false
	}
	go func() {
		defer close(finished)
		every := heapSampleFine
		t := time.NewTimer(every)
		defer t.Stop()
		for {
			if read() {
				every = heapSampleFine
			} else {
				every = min(2*every, heapSampleCoarse)
			}
			t.Reset(every)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		read()
		return peak.Load()
	}
}

// The heap sampler reads every heapSampleFine while the heap sets new
// highs and backs off to heapSampleCoarse while it does not: waking every
// millisecond throughout took a core from the two-thread forward passes
// it measured (bench/peers/README.md), and warm passes allocate nothing.
const (
	heapSampleFine   = time.Millisecond
	heapSampleCoarse = 100 * time.Millisecond
)

func timeIt(minReps, maxReps int, budget time.Duration, f func() error) (time.Duration, int, error) {
	if err := f(); err != nil {
		return 0, 0, err
	}
	times, err := callTimes(minReps, maxReps, budget, f)
	if err != nil {
		return 0, 0, err
	}
	return times[len(times)/2], len(times), nil
}

// ViT times one ViT-B/16 forward pass of an H×W image on threads workers,
// its Linear layers in prec's DType (f32, bf16 or int8; "" is f32; with
// ReduceRange, 7-bit int8 weights; its other fields zero): median
// milliseconds, GFLOP/s, tokens, the workspace and the Go heap's
// high-water mark during the runs (weights included). With headOnly the
// pass asks for the logits alone (Output.HeadOnly): GFLOP/s then counts
// the whole forward's operations, as a peer that computes every row
// does, and no fraction of the peak is given.
func ViT(h, w, threads int, prec nn.Precision, headOnly bool, budget time.Duration) (Result, error) {
	m, err := vitModel(prec, threads)
	if err != nil {
		return Result{}, err
	}
	dt, _ := nn.ParseDType(prec.DType) // checked by vitModel
	img := randomImage(h, w)
	out := vit.Output{HeadOnly: headOnly}
	runtime.GC()
	// The resident peak so far is the load's (random weights made, then
	// packed); return the garbage to the OS and restart the count, so the
	// runs' own peak is measured too.
	loadRSS := peakRSS()
	debug.FreeOSMemory()
	resetPeakRSS()
	stop := heapPeak()
	cpu0, _ := processCPU()
	med, reps, err := timeIt(2, 50, budget, func() error { return m.Forward(img, &out) })
	cpu1, cpuOK := processCPU()
	peak := stop()
	runRSS := peakRSS()
	if err != nil {
		return Result{}, err
	}
	g := out.Grid
	flops := m.FLOPs(h, w)
	ms := float64(med) / 1e6
	fields := map[string]any{
		"model": "vit_base_patch16", "dtype": dt, "size": fmt.Sprintf("%dx%d", h, w), "threads": threads,
		"tokens": out.Prefix + g.N(), "ms": round(ms, 2), "gflops": round(flops/ms/1e6, 1), "reps": reps,
		"workspace_mb":     round(float64(m.WorkspaceBytes([2]int{h, w}))/(1<<20), 1),
		"heap_peak_mb":     round(float64(peak)/(1<<20), 1),
		"load_peak_rss_mb": round(float64(loadRSS)/(1<<20), 1),
		// CPU time per forward (all threads, warm-up included): on a
		// shared machine it leaves out the time spent waiting for a core.
		"cpu_ms":          cpuMS(cpuOK, cpu1-cpu0, reps+1),
		"run_peak_rss_mb": round(float64(runRSS)/(1<<20), 1),
	}
	if prec.ReduceRange {
		fields["reduce_range"] = true
	}
	if headOnly {
		fields["output"] = "head"
		return Result{Kind: "vit", Fields: fields}, nil
	}
	if f := peakFrac(flops/ms/1e6, threads); f != nil {
		fields["peak_frac"] = f // of threads × the level's FMA peak (Peak)
	}
	if cpu, ok := fields["cpu_ms"].(float64); ok && threads == 1 && cpu > 0 {
		// From CPU time: what a busy machine's waits leave out.
		if f := peakFrac(flops/cpu/1e6, 1); f != nil {
			fields["peak_frac_cpu"] = f
		}
	}
	return Result{Kind: "vit", Fields: fields}, nil
}

func cpuMS(ok bool, d time.Duration, runs int) any {
	if !ok {
		return nil
	}
	return round(float64(d)/1e6/float64(runs), 2)
}

// peakRSS is the process's resident-memory high-water mark in bytes (VmHWM
// in /proc/self/status; 0 where there is none). Unlike a parent's wait4
// figure it does not count the parent's pages copied at fork.
func peakRSS() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// resetPeakRSS restarts the high-water mark at the current resident size
// (Linux: 5 written to /proc/self/clear_refs); elsewhere it does nothing.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// ViTPack times a batch of images of different sizes packed into one
// sequence against the same images zero-padded to the largest size and run
// as one batch of equal sizes (what a fixed-shape batch would do).
func ViTPack(sizes [][2]int, threads int, budget time.Duration) (Result, error) {
	m, err := vitModel(nn.Precision{DType: nn.F32}, threads)
	if err != nil {
		return Result{}, err
	}
	var imgs, padded []vit.Image
	var big [2]int
	for _, s := range sizes {
		big = [2]int{max(big[0], s[0]), max(big[1], s[1])}
	}
	names := ""
	for i, s := range sizes {
		imgs = append(imgs, randomImage(s[0], s[1]))
		padded = append(padded, randomImage(big[0], big[1]))
		if i > 0 {
			names += ","
		}
		names += fmt.Sprintf("%dx%d", s[0], s[1])
	}
	outs := make([]vit.Output, len(imgs))
	packed, reps, err := timeIt(2, 20, budget, func() error { return m.ForwardBatch(imgs, outs) })
	if err != nil {
		return Result{}, err
	}
	pad, _, err := timeIt(2, 20, budget, func() error { return m.ForwardBatch(padded, outs) })
	if err != nil {
		return Result{}, err
	}
	tokens, padTokens := 0, 0
	for i := range sizes {
		g := m.Grid(sizes[i][0], sizes[i][1])
		tokens += 1 + g.N()
		gb := m.Grid(big[0], big[1])
		padTokens += 1 + gb.N()
	}
	return Result{Kind: "vit-pack", Fields: map[string]any{
		"sizes": names, "threads": threads, "reps": reps,
		"tokens": tokens, "padded_tokens": padTokens,
		"packed_ms": round(float64(packed)/1e6, 2), "padded_ms": round(float64(pad)/1e6, 2),
		"speedup": round(float64(pad)/float64(packed), 2),
	}}, nil
}

// vitMainSizes are the sizes of the main job: the training size, a larger
// square and an odd size, on one and two threads.
var vitMainSizes = [][2]int{{224, 224}, {384, 384}, {518, 392}}

func init() {
	addMainStep("vit", 20, func(p *Printer) error {
		p.Text("\nViT-B/16 forward (random weights), median ms and GFLOP/s; 1T CPU/peak: GFLOP/s from CPU time\n")
		p.Text("over one thread's FMA peak at the active level (above)\n")
		p.Text("%-10s %7s %9s %9s %9s %9s %11s\n", "size", "tokens", "1T ms", "1T GF/s", "2T ms", "2T GF/s", "1T CPU/peak")
		for _, s := range vitMainSizes {
			var rs []Result
			for _, t := range []int{1, 2} {
				r, err := ViT(s[0], s[1], t, nn.Precision{DType: nn.F32}, false, 2*time.Second)
				if err != nil {
					return err
				}
				if p.JSON() {
					if err := p.Print(r); err != nil {
						return err
					}
				}
				rs = append(rs, r)
			}
			f0, f1 := rs[0].Fields, rs[1].Fields
			frac := "-"
			if v, ok := f0["peak_frac_cpu"].(float64); ok {
				frac = fmt.Sprintf("%.0f%%", 100*v)
			}
			p.Text("%-10s %7d %9.1f %9.1f %9.1f %9.1f %11s\n", f0["size"], f0["tokens"], f0["ms"], f0["gflops"], f1["ms"], f1["gflops"], frac)
		}
		return nil
	})
}
