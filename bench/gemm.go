package bench

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/anyres/anyres/kernels"
)

// GemmShape is one matrix product C (M×N) = A (M×K) · B (K×N).
type GemmShape struct{ M, N, K int }

// GemmOptions selects what a GEMM measurement runs.
type GemmOptions struct {
	Threads int           // goroutines per call; 0 = GOMAXPROCS
	Packed  bool          // GemmPacked with a pre-packed Bᵀ (a linear layer) instead of Sgemm
	MinTime time.Duration // measure at least this long (and at least 3 calls)
}

// Gemm measures one product and returns its median time per call as a
// result with fields m, n, k, threads, level, op, ms and gflops (from the
// median), gflops_best (from the fastest call), calls, and on unix cpu_ms
// (the process's CPU time per call) and, with one thread, gflops_cpu from it.
func Gemm(s GemmShape, o GemmOptions) Result {
	rng := rand.New(rand.NewPCG(1, uint64(s.M*s.N+s.K)))
	randSlice := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = rng.Float32()*2 - 1
		}
		return x
	}
	a, b, c := randSlice(s.M*s.K), randSlice(s.K*s.N), make([]float32, s.M*s.N)
	t := kernels.Threads(o.Threads)
	op := "sgemm"
	run := func() { kernels.Sgemm(t, false, false, s.M, s.N, s.K, 1, a, s.K, b, s.N, 0, c, s.N) }
	if o.Packed {
		op = "packed"
		pb := kernels.PackB(true, s.K, s.N, b, s.K) // b read as an N×K weight
		run = func() { kernels.GemmPacked(t, s.M, a, s.K, pb, c, s.N, kernels.Epilogue{}) }
	}
	run() // warm caches, pools and page tables
	cpu0, cpuOK := processCPU()
	times, _ := callTimes(3, 0, o.MinTime, noError(run))
	cpu1, _ := processCPU()
	med := times[len(times)/2]
	ms := float64(med.Nanoseconds()) / 1e6
	bestMs := float64(times[0].Nanoseconds()) / 1e6
	flop := 2 * float64(s.M) * float64(s.N) * float64(s.K)
	threads := o.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	fields := map[string]any{
		"m": s.M, "n": s.N, "k": s.K, "threads": threads, "op": op,
		"level":       kernels.Active().String(),
		"ms":          round(ms, 4),
		"gflops":      round(flop/(ms*1e6), 2),
		"gflops_best": round(flop/(bestMs*1e6), 2), // the fastest call: least disturbed by a busy machine
		"calls":       len(times),
	}
	if f := peakFrac(flop/(ms*1e6), threads); f != nil {
		fields["peak_frac"] = f // of threads × the level's FMA peak (Peak)
	}
	if cpuOK {
		// CPU time per call, all threads together: with one thread it is
		// the compute time, whatever the other jobs on the machine do to
		// the wall clock; with more, its growth over one thread is the
		// cost of splitting the work (but not of waiting for a slow
		// thread, which takes no CPU).
		perCall := (cpu1 - cpu0).Seconds() / float64(len(times))
		fields["cpu_ms"] = round(perCall*1e3, 4)
		if threads == 1 {
			fields["gflops_cpu"] = round(flop/(perCall*1e9), 2)
			if f := peakFrac(flop/(perCall*1e9), 1); f != nil {
				fields["peak_frac_cpu"] = f
			}
		}
	}
	return Result{Kind: "gemm", Fields: fields}
}

// gemmMainShapes are the products the main job shows: a 224² and a 384²
// ViT-B's linear layers.
var gemmMainShapes = []GemmShape{{197, 2304, 768}, {197, 768, 3072}, {577, 3072, 768}, {577, 768, 3072}}

func init() {
	addMainStep("gemm", 10, func(p *Printer) error {
		p.Text("\nGEMM (ViT-B linear layers, A·Wᵀ with W packed), GFLOP/s: median of 0.3 s, and from CPU time\n")
		p.Text("(the figure a busy machine disturbs least; `anyres bench gemm -h` for one shape); 1T CPU/peak: that\n")
		p.Text("figure over one thread's FMA peak at the active level (above):\n")
		p.Text("%6s %6s %6s  %10s %10s %10s  %7s  %11s\n", "M", "N", "K", "1 thread", "1T (CPU)", "2 threads", "speedup", "1T CPU/peak")
		for _, s := range gemmMainShapes {
			var g [2]float64
			var cpu, frac any = "-", "-"
			for i, th := range []int{1, 2} {
				r := Gemm(s, GemmOptions{Threads: th, Packed: true, MinTime: 300 * time.Millisecond})
				if p.JSON() {
					if err := p.Print(r); err != nil {
						return err
					}
				}
				g[i] = r.Fields["gflops"].(float64)
				if v, ok := r.Fields["peak_frac_cpu"]; ok && th == 1 {
					frac = fmt.Sprintf("%.0f%%", 100*v.(float64))
				}
				if v, ok := r.Fields["gflops_cpu"]; ok {
					cpu = v
				}
			}
			p.Text("%6d %6d %6d  %10.1f %10v %10.1f  %6.2f×  %11v\n", s.M, s.N, s.K, g[0], cpu, g[1], g[1]/g[0], frac)
		}
		return nil
	})
}
