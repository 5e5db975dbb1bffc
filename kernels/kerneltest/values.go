package kerneltest

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Rand returns n values uniform in [lo, hi).
func Rand(r *rand.Rand, n int, lo, hi float64) []float32 {
	return RandFill(r, make([]float32, n), lo, hi)
}

// RandFill sets every element of s to a value uniform in [lo, hi) and returns s.
func RandFill(r *rand.Rand, s []float32, lo, hi float64) []float32 {
	for i := range s {
		s[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return s
}

// Lengths are the lengths every elementwise kernel is tried at: every length
// up to a little past two AVX-512 unrolled blocks, then the golden and ViT sizes.
func Lengths() []int {
	var ls []int
	for n := 0; n <= 130; n++ {
		ls = append(ls, n)
	}
	return append(ls, 197, 257, 577, 768, 1025)
}

// ULPDiff returns |got - want| in units of the float32 spacing at want
// (2^-149 for subnormal and zero results), with want exact in float64;
// a want that rounds to ±Inf matches only ±Inf.
func ULPDiff(got float32, want float64) float64 {
	if w32 := float64(float32(want)); math.IsInf(float64(got), 0) || math.IsInf(w32, 0) {
		if float64(got) == w32 {
			return 0
		}
		return math.Inf(1)
	}
	a := math.Abs(want)
	ulp := math.Ldexp(1, -149)
	if a >= math.Ldexp(1, -126) {
		_, e := math.Frexp(a) // a = f·2^e, f in [0.5, 1)
		ulp = math.Ldexp(1, e-24)
	}
	return math.Abs(float64(got)-want) / ulp
}

// MaxDiff returns the largest |got[i] - want[i]|, the largest relative
// difference |got[i] - want[i]| / |want[i]| (over want[i] ≠ 0), and the index
// of the largest absolute one (-1 when all agree). A NaN in got where want
// has a number counts as an infinite difference.
func MaxDiff(got []float32, want []float64) (abs, rel float64, at int) {
	at = -1
	for i, w := range want {
		d := math.Abs(float64(got[i]) - w)
		if math.IsNaN(d) {
			if math.IsNaN(w) && math.IsNaN(float64(got[i])) {
				continue
			}
			d = math.Inf(1)
		}
		if d > abs || (at < 0 && d > 0) {
			abs, at = d, i
		}
		if w != 0 && d/math.Abs(w) > rel {
			rel = d / math.Abs(w)
		}
	}
	return abs, rel, at
}

// Close fails tb at the first element with |got[i] - want[i]| > tol·(1 + |want[i]|)
// or a NaN in got: an absolute bound near zero, a relative one elsewhere.
func Close(tb testing.TB, what string, got []float32, want []float64, tol float64) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*(1+math.Abs(want[i])) || math.IsNaN(float64(got[i])) {
			tb.Fatalf("%s: element %d = %g, want %g", what, i, got[i], want[i])
		}
	}
}
