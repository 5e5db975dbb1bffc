package kernels_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels/kerneltest"
)

// guardVal fills the bands around an output slice; a kernel that writes
// outside its slice changes one of them.
var guardVal = math.Float32frombits(0x7fc0dead) // a NaN with a recognisable payload

const guardLen = 37 // more than one AVX-512 vector, and odd

// guarded returns a slice of length n that starts off elements into a buffer
// with guard bands on both sides (off shifts the start off 64-byte
// alignment), and the buffer itself for checkGuards.
func guarded(n, off int) (s, buf []float32) {
	buf = make([]float32, guardLen+off+n+guardLen)
	for i := range buf {
		buf[i] = guardVal
	}
	s = buf[guardLen+off : guardLen+off+n : guardLen+off+n]
	return s, buf
}

// checkGuards fails the test if anything outside s's place in buf changed.
func checkGuards(t *testing.T, what string, buf []float32, off, n int) {
	t.Helper()
	for i, v := range buf {
		if i >= guardLen+off && i < guardLen+off+n {
			continue
		}
		if math.Float32bits(v) != math.Float32bits(guardVal) {
			t.Fatalf("%s: wrote outside its slice at buffer index %d (slice at %d..%d)", what, i, guardLen+off, guardLen+off+n)
		}
	}
}

// testLengths are the lengths every kernel is tried at: every length up to
// a little past two AVX-512 unrolled blocks, then the golden and ViT sizes.
func testLengths() []int {
	var ls []int
	for n := 0; n <= 130; n++ {
		ls = append(ls, n)
	}
	return append(ls, 197, 257, 577, 768, 1025)
}

// randSlice returns n values uniform in [lo, hi).
func randSlice(r *rand.Rand, n int, lo, hi float64) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return s
}

// ulpDiff returns |got - want| in units of the float32 spacing at want
// (2^-149 for subnormal and zero results), with want exact in float64;
// a want that rounds to ±Inf matches only ±Inf.
func ulpDiff(got float32, want float64) float64 {
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

// benchRows runs f over a rows×cols matrix per iteration at every level and
// reports elements/ns and GB/s (8 bytes per element: one read, one write).
func benchRows(b *testing.B, rows, cols int, f func(dst, src []float32, cols int)) {
	r := rand.New(rand.NewPCG(1, 1))
	src := randSlice(r, rows*cols, -6, 6)
	dst := make([]float32, len(src))
	kerneltest.Bench(b, func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			f(dst, src, cols)
		}
		ns := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(float64(len(src))/ns, "elem/ns")
		b.ReportMetric(8*float64(len(src))/ns, "GB/s")
	})
}
