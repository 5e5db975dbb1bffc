//go:build linux

package kernels_test

import (
	"math/rand/v2"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/anyres/anyres/kernels"
)

// threadCPU is the CPU time of the calling OS thread.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestGemmLowPrecisionCPUTime measures GemmPacked (f32), GemmQuant (int8)
// and GemmBF16 on ViT-B shapes in the CPU time of the calling thread,
// which a shared machine disturbs much less than wall time does. Opt-in:
//
//	ANYRES_CPUTIME=1 go test ./kernels -run LowPrecisionCPUTime -v
func TestGemmLowPrecisionCPUTime(t *testing.T) {
	if os.Getenv("ANYRES_CPUTIME") == "" {
		t.Skip("set ANYRES_CPUTIME=1")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range [][3]int{{197, 768, 768}, {197, 3072, 768}, {197, 768, 3072}, {577, 768, 768}} {
		m, n, k := s[0], s[1], s[2]
		a := randMatrix(rng, m, k, k)
		w := randMatrix(rng, n, k, k)
		c := make([]float32, m*n)
		pb := kernels.PackB(true, k, n, w, k)
		qb := kernels.QuantizeB(true, k, n, w, k)
		hb := kernels.NewBF16B(k, n, w, k)
		fl := 2 * float64(m*n*k)
		run := func(f func()) float64 {
			f()
			t0 := threadCPU()
			for r := 0; r < 30; r++ {
				f()
			}
			d := threadCPU() - t0
			return 30 * fl / d.Seconds() / 1e9
		}
		f := run(func() { kernels.GemmPacked(1, m, a, k, pb, c, n, kernels.Epilogue{}) })
		q := run(func() { kernels.GemmQuant(1, m, a, k, qb, c, n, kernels.Epilogue{}) })
		h := run(func() { kernels.GemmBF16(1, m, a, k, hb, c, n, kernels.Epilogue{}) })
		t.Logf("%v: f32 %.0f GFLOP/s, int8 %.0f GOP/s, bf16 %.0f GFLOP/s (thread CPU time)", s, f, q, h)
	}
}
