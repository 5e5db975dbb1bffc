//go:build linux

package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/anyres/anyres/internal/abtest"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/vit"
)

// TestQEpilogueAB measures the int8 epilogue with the residual in the
// dequantising pass (AVX-512 at the avx512 and amx levels) against the one
// before it (kernels.SetQEpilogueBaseline), old and new alternating run by
// run in one process, in the calling thread's CPU time: GemmQuant alone
// on ViT-B/16 shapes at every level from avx2 up, then ViT-B/16 int8
// (random weights) at 224² and 384², one thread, at the current level.
// It logs medians and quartiles of old/new. Opt-in:
//
//	ANYRES_CPUTIME=1 go test ./kernels -run QEpilogueAB -v
//
// ANYRES_CPUTIME=N (N > 1) runs N rounds (default 9).
func TestQEpilogueAB(t *testing.T) {
	env := os.Getenv("ANYRES_CPUTIME")
	if env == "" {
		t.Skip("set ANYRES_CPUTIME=1")
	}
	rounds := 9
	if _, err := fmt.Sscan(env, &rounds); err != nil || rounds < 2 {
		rounds = 9
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// ab times f under the old and the new epilogue, alternating (which
	// goes first alternates too), and returns the ratios old/new.
	ab := func(f func()) (ratios []float64, newT time.Duration) {
		f()
		var news []time.Duration
		for r := range rounds {
			var d [2]time.Duration
			for i := range 2 {
				old := (r+i)%2 == 0
				restore := kernels.SetQEpilogueBaseline(old)
				t0 := abtest.ThreadCPU()
				f()
				dt := abtest.ThreadCPU() - t0
				restore()
				if old {
					d[0] = dt
				} else {
					d[1] = dt
					news = append(news, dt)
				}
			}
			ratios = append(ratios, float64(d[0])/float64(d[1]))
		}
		slices.Sort(news)
		return ratios, news[len(news)/2]
	}
	quart := func(x []float64) string {
		slices.Sort(x)
		n := len(x)
		return fmt.Sprintf("old/new median %.3f, quartiles %.3f–%.3f", x[n/2], x[n/4], x[(3*n)/4])
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, l := range kernels.Levels() {
		if l < kernels.AVX2 {
			continue
		}
		restore, err := kernels.SetLevel(l)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []struct {
			m, n, k int
			res     bool
		}{{197, 768, 768, true}, {197, 768, 3072, true}, {197, 2304, 768, false}, {577, 768, 768, true}} {
			a := randMatrix(rng, s.m, s.k, s.k)
			w := randMatrix(rng, s.n, s.k, s.k)
			bias := randMatrix(rng, 1, s.n, s.n)
			c := randMatrix(rng, s.m, s.n, s.n)
			qb := kernels.QuantizeB(true, s.k, s.n, w, s.k)
			ep := kernels.Epilogue{Bias: bias}
			if s.res {
				ep.Residual, ep.LDR = c, s.n // in place, as the ViT blocks do
			}
			// Enough calls for ~10 ms a measurement.
			t0 := abtest.ThreadCPU()
			kernels.GemmQuant(1, s.m, a, s.k, qb, c, s.n, ep)
			reps := max(3, int(10*time.Millisecond/max(abtest.ThreadCPU()-t0, time.Microsecond)))
			r, nt := ab(func() {
				for range reps {
					kernels.GemmQuant(1, s.m, a, s.k, qb, c, s.n, ep)
				}
			})
			t.Logf("%s GemmQuant %dx%dx%d residual=%v: %s (new %.3f ms)", l, s.m, s.n, s.k, s.res, quart(r), nt.Seconds()*1e3/float64(reps))
		}
		restore()
	}
	cfg := vit.ViTB16()
	cfg.DynamicImgPad = true
	m, err := vit.New(cfg, vit.RandomWeights(cfg, 1), vit.Options{Precision: nn.Precision{DType: nn.Int8}})
	if err != nil {
		t.Fatal(err)
	}
	net := m.WithThreads(1)
	for _, s := range []int{224, 384} {
		img := nn.Image{C: 3, H: s, W: s, Pix: randMatrix(rng, 3, s*s, s*s)}
		var out nn.Output
		r, nt := ab(func() {
			if err := net.Forward(img, &out); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("%s ViT-B/16 int8 %d², one thread: %s (new %.1f ms)", kernels.Levels()[len(kernels.Levels())-1], s, quart(r), nt.Seconds()*1e3)
	}
}
