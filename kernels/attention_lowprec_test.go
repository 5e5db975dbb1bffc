package kernels_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// What TestAttentionBF16 and TestAttentionInt8 share.

// lowPrecMasks are the bias cases: none, a bias, a bias with -Inf entries,
// and rows that are all -Inf.
var lowPrecMasks = []string{"", "bias", "inf", "allinf"}

// maskedBias is an nq×nk bias for mask (nil for ""): U(-1, 1), with -Inf at
// a quarter of the entries ("inf") or in every third row ("allinf").
func maskedBias(rng *rand.Rand, nq, nk int, mask string) []float32 {
	if mask == "" {
		return nil
	}
	bias := kerneltest.Rand(rng, nq*nk, -1, 1)
	for i := 0; i < nq; i++ {
		for j := 0; j < nk; j++ {
			if mask == "inf" && (i+3*j)%4 == 0 || mask == "allinf" && i%3 == 1 {
				bias[i*nk+j] = float32(math.Inf(-1))
			}
		}
	}
	return bias
}

// packedInBlocks runs AttentionPacked on kv over nq queries (rows ld apart)
// in query blocks of 1000, 1, 7 and 64 rows, into guarded outputs (hd
// columns, rows hd+2 apart): each block size must give the same bits (what
// keeps results independent of the thread count) and write nothing outside
// its rows. It returns the first output.
func packedInBlocks(t *testing.T, name string, kv *kernels.AttentionKV, q []float32, ld, nq, nk, hd int, scale float32, bias []float32) *kerneltest.Guarded {
	t.Helper()
	ldd := hd + 2
	var first *kerneltest.Guarded
	for _, block := range []int{1000, 1, 7, 64} {
		g := kerneltest.Matrix(nq, hd, ldd, block%5)
		for lo := 0; lo < nq; lo += block {
			var b []float32
			if bias != nil {
				b = bias[lo*nk:]
			}
			kernels.AttentionPacked(g.Data()[lo*ldd:], ldd, q[lo*ld:], ld, min(block, nq-lo), kv, scale, b, nk)
		}
		g.Check(t, name+" dst")
		if first == nil {
			first = g
			continue
		}
		for i := 0; i < nq; i++ {
			for j := 0; j < hd; j++ {
				if a, b := g.At(i, j), first.At(i, j); math.Float32bits(a) != math.Float32bits(b) {
					t.Fatalf("%s: query blocks of %d: dst[%d,%d] = %v, one block gives %v", name, block, i, j, a, b)
				}
			}
		}
	}
	return first
}

// sameBits checks got (nq×hd) against want (dense) bit for bit; what names
// want in the message.
func sameBits(t *testing.T, name, what string, got *kerneltest.Guarded, want []float32, nq, hd int) {
	t.Helper()
	for i := 0; i < nq; i++ {
		for j := 0; j < hd; j++ {
			if a, b := got.At(i, j), want[i*hd+j]; math.Float32bits(a) != math.Float32bits(b) {
				t.Fatalf("%s: fallback dst[%d,%d] = %v, %s gives %v", name, i, j, a, what, b)
			}
		}
	}
}

// withinBound checks got (nq×hd) against want within tol (dense, as the
// bound functions give them) and logs the largest error as a fraction of
// its bound.
func withinBound(t *testing.T, name string, got *kerneltest.Guarded, want, tol []float64, nq, hd int) {
	t.Helper()
	worst := 0.0
	for i := 0; i < nq; i++ {
		for j := 0; j < hd; j++ {
			g, w, tl := float64(got.At(i, j)), want[i*hd+j], tol[i*hd+j]
			if math.IsNaN(g) || math.Abs(g-w) > tl {
				t.Fatalf("%s: dst[%d,%d] = %v, want %v ± %.3g", name, i, j, g, w, tl)
			}
			if tl > 0 {
				worst = max(worst, math.Abs(g-w)/tl)
			}
		}
	}
	t.Logf("%s: largest error %.3f of the bound", name, worst)
}
