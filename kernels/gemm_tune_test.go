//go:build unix

package kernels

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

var gemmTune = flag.Bool("gemm.tune", false, "run TestGemmTuneBlocking: time cache-block sizes (slow)")

// cpuNow is the process's CPU time: on a shared machine it leaves out the
// time spent waiting for a core, which wall-clock timings cannot.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestGemmTuneBlocking times one-thread GemmPacked on ViT shapes for a
// grid of row and K block sizes at the active level, in CPU time,
// interleaving the candidates over several rounds and keeping each one's
// median. B cycles through copies that together exceed the last-level
// cache, as a model's weights do (each layer's are read once per forward
// and come from memory): a single cache-resident B favours other blocks.
// Run with -args -gemm.tune and -v (ANYRES_KERNELS picks the level).
func TestGemmTuneBlocking(t *testing.T) {
	if !*gemmTune {
		t.Skip("needs -gemm.tune")
	}
	mk := gemmLevel
	saved := *mk
	defer func() { *mk = saved }()
	shapes := [][3]int{{197, 768, 768}, {197, 2304, 768}, {197, 768, 3072}, {577, 3072, 768}, {577, 768, 3072}}
	type cand struct{ mc, kc int }
	var cands []cand
	for _, kc := range []int{256, 384, 512, 768, 1024, 1536} {
		for _, panels := range []int{12, 16, 24, 32} {
			cands = append(cands, cand{panels * mk.mr, kc})
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = rng.Float32() - 0.5
		}
		return x
	}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		a := rnd(m * k)
		w := rnd(n * k)
		ring := make([]*PackedB, max(2, (512<<20)/(4*n*k)))
		for i := range ring {
			ring[i] = PackB(true, k, n, w, k)
		}
		next := 0
		c := make([]float32, m*n)
		const rounds, reps = 5, 4
		times := make([][]time.Duration, len(cands))
		for round := 0; round < rounds; round++ {
			for i, cd := range cands {
				mk.mc, mk.kc = cd.mc, cd.kc
				t0 := cpuNow()
				for r := 0; r < reps; r++ {
					GemmPacked(1, m, a, k, ring[next%len(ring)], c, n, Epilogue{})
					next++
				}
				times[i] = append(times[i], (cpuNow()-t0)/reps)
			}
		}
		line := fmt.Sprintf("%dx%dx%d GFLOP/s (CPU time), mc/kc:", m, n, k)
		for i, cd := range cands {
			ts := times[i]
			for x := 1; x < len(ts); x++ { // insertion sort: a handful of values
				for y := x; y > 0 && ts[y] < ts[y-1]; y-- {
					ts[y], ts[y-1] = ts[y-1], ts[y]
				}
			}
			line += fmt.Sprintf(" %d/%d=%.0f", cd.mc, cd.kc, 2*float64(m*n*k)/ts[len(ts)/2].Seconds()/1e9)
		}
		t.Log(line)
	}
}
