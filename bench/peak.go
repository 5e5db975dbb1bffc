package bench

import (
	"sync"
	"time"

	"github.com/anyres/anyres/kernels"
)

// peakCache holds each level's measured FMA peak (GFLOP/s, one thread),
// so that every GEMM and model result in a run divides by the same figure.
var peakCache sync.Map // kernels.Level → float64

// Peak is the float32 FMA peak of one thread at level l on this CPU, in
// GFLOP/s: the best rate of kernels.FMALoop over chunks of a few ms each,
// for at least minTime (a fastest chunk is the one a busy machine
// disturbed least). It fails for a level this build or CPU cannot run.
func Peak(l kernels.Level, minTime time.Duration) (float64, error) {
	if v, ok := peakCache.Load(l); ok {
		return v.(float64), nil
	}
	if _, err := kernels.FMALoop(l, 1024); err != nil { // warm, and check the level
		return 0, err
	}
	const iters = 1 << 18
	best := 0.0
	for start := time.Now(); time.Since(start) < minTime || best == 0; {
		t0 := time.Now()
		n, _ := kernels.FMALoop(l, iters)
		if el := time.Since(t0).Seconds(); el > 0 {
			best = max(best, float64(n)/el/1e9)
		}
	}
	peakCache.Store(l, best)
	return best, nil
}

// peakFrac is gflops as a fraction of threads times the active level's
// one-thread peak, or nil where the peak cannot be measured.
func peakFrac(gflops float64, threads int) any {
	p, err := Peak(kernels.Active(), 100*time.Millisecond)
	if err != nil || p <= 0 || threads <= 0 {
		return nil
	}
	return round(gflops/(p*float64(threads)), 3)
}

// Peaks measures each level this process may select (kernels.Levels), one
// result per level: its one-thread FMA peak in GFLOP/s.
func Peaks(minTime time.Duration) ([]Result, error) {
	var out []Result
	for _, l := range kernels.Levels() {
		p, err := Peak(l, minTime)
		if err != nil {
			return nil, err
		}
		out = append(out, Result{Kind: "peak", Fields: map[string]any{"level": l.String(), "gflops": round(p, 1)}})
	}
	return out, nil
}

func init() {
	addMainStep("peak", 5, func(p *Printer) error {
		rs, err := Peaks(200 * time.Millisecond)
		if err != nil {
			return err
		}
		p.Text("\nFloat32 FMA peak of one thread per kernel level (a tight loop of independent FMAs: lanes × FMA ports × clock), GFLOP/s:\n")
		for _, r := range rs {
			if p.JSON() {
				if err := p.Print(r); err != nil {
					return err
				}
			}
			p.Text("%-8s %8.1f\n", r.Fields["level"], r.Fields["gflops"])
		}
		return nil
	})
}
