//go:build linux

package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/abtest"
	"github.com/anyres/anyres/kernels"
)

// TestGemmLowPrecisionCPUTime measures GemmPacked (f32), GemmQuant (int8)
// and GemmBF16 on ViT-B shapes, one thread, at every level from avx512 up
// (so avx512 and amx side by side), in the CPU time of the calling thread,
// which a shared machine disturbs much less than wall time does. Levels
// alternate round by round (A/B pairs) and each figure is the median over
// the rounds. Opt-in:
//
//	ANYRES_CPUTIME=1 go test ./kernels -run LowPrecisionCPUTime -v
//
// ANYRES_CPUTIME=N (N > 1) runs N rounds (default 7).
func TestGemmLowPrecisionCPUTime(t *testing.T) {
	env := os.Getenv("ANYRES_CPUTIME")
	if env == "" {
		t.Skip("set ANYRES_CPUTIME=1")
	}
	rounds := 7
	if _, err := fmt.Sscan(env, &rounds); err != nil || rounds < 2 {
		rounds = 7
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var levels []kernels.Level
	for _, l := range kernels.Levels() {
		if l >= kernels.AVX512 {
			levels = append(levels, l)
		}
	}
	if len(levels) == 0 {
		levels = kernels.Levels()[len(kernels.Levels())-1:]
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, s := range [][3]int{{197, 768, 768}, {197, 2304, 768}, {197, 3072, 768}, {197, 768, 3072}, {577, 768, 768}, {577, 3072, 768}, {577, 768, 3072}} {
		m, n, k := s[0], s[1], s[2]
		a := randMatrix(rng, m, k, k)
		w := randMatrix(rng, n, k, k)
		bias := randMatrix(rng, 1, n, n)
		c := make([]float32, m*n)
		pb := kernels.PackB(true, k, n, w, k)
		qb := kernels.QuantizeB(true, k, n, w, k)
		hb := kernels.NewBF16B(k, n, w, k)
		ep := kernels.Epilogue{Bias: bias}
		fl := 2 * float64(m*n*k)
		reps := max(3, int(2e9/fl)) // ≈ 5-10 ms per measurement
		run := func(f func()) float64 {
			f()
			t0 := abtest.ThreadCPU()
			for range reps {
				f()
			}
			return float64(reps) * fl / (abtest.ThreadCPU() - t0).Seconds() / 1e9
		}
		type key struct {
			l    kernels.Level
			what string
		}
		res := map[key][]float64{}
		for range rounds {
			for _, l := range levels {
				restore, err := kernels.SetLevel(l)
				if err != nil {
					t.Fatal(err)
				}
				res[key{l, "f32"}] = append(res[key{l, "f32"}], run(func() { kernels.GemmPacked(1, m, a, k, pb, c, n, ep) }))
				res[key{l, "int8"}] = append(res[key{l, "int8"}], run(func() { kernels.GemmQuant(1, m, a, k, qb, c, n, ep) }))
				res[key{l, "bf16"}] = append(res[key{l, "bf16"}], run(func() { kernels.GemmBF16(1, m, a, k, hb, c, n, ep) }))
				restore()
			}
		}
		med := func(x []float64) float64 {
			slices.Sort(x)
			return x[len(x)/2]
		}
		var line []string
		for _, l := range levels {
			f, q, h := med(res[key{l, "f32"}]), med(res[key{l, "int8"}]), med(res[key{l, "bf16"}])
			line = append(line, fmt.Sprintf("%s: f32 %.0f, int8 %.0f (%.2f×), bf16 %.0f (%.2f×)", l, f, q, q/f, h, h/f))
		}
		t.Logf("%dx%dx%d GOP/s, medians of %d rounds (thread CPU time): %s", m, n, k, rounds, strings.Join(line, "; "))
	}
}
