//go:build gc && !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestQMinMaxAVX2: the vector min/max is quantRowGo's loop (0 included,
// NaN skipped, ±0 as the loop leaves them) for every multiple of 8 up to
// 296 and values with NaNs, infinities and signed zeros mixed in.
func TestQMinMaxAVX2(t *testing.T) {
	rng := rand.New(rand.NewPCG(71, 72))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1))}
	for n := 8; n <= 296; n += 8 {
		for trial := 0; trial < 20; trial++ {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(rng.NormFloat64()) * 3
				if trial%2 == 0 {
					x[i] += 4 // all positive: lo stays 0
				}
				if rng.IntN(40) == 0 && trial >= 10 {
					x[i] = special[rng.IntN(len(special))]
				}
			}
			var lo, hi float32
			for _, v := range x {
				if v < lo {
					lo = v
				}
				if v > hi {
					hi = v
				}
			}
			glo, ghi := qMinMaxAVX2(&x[0], n)
			if math.Float32bits(glo) != math.Float32bits(lo) || math.Float32bits(ghi) != math.Float32bits(hi) {
				t.Fatalf("n=%d trial %d: (%v, %v), loop (%v, %v)", n, trial, glo, ghi, lo, hi)
			}
		}
	}
}

// TestQuantDirectC: at every level whose int8 kernel has one (VNNI, and
// the AVX2 kernel at avx2 and at avx512 without VNNI), whole tiles
// dequantised straight into C (kernelC) give the bits of the
// int32-tile-and-finish path (checkDirectC).
func TestQuantDirectC(t *testing.T) {
	forQuantLevels(t, func(mk *qMicro) bool { return mk.kernelC != nil }, "stores tiles only", func(t *testing.T, mk *qMicro) {
		saved := mk.kernelC
		defer func() { mk.kernelC = saved }()
		checkDirectC(t, 69, func(direct bool, threads, m, n, k int, a, w, c []float32, ldc int, ep Epilogue) {
			mk.kernelC = nil
			if direct {
				mk.kernelC = saved
			}
			GemmQuant(Threads(threads), m, a, k, QuantizeB(true, k, n, w, k), c, ldc, ep)
		})
	})
}

// forQuantLevels runs f at avx2 and avx512 where the level is here and its
// int8 kernel has what has asks for (skipped saying lacks otherwise).
func forQuantLevels(t *testing.T, has func(*qMicro) bool, lacks string, f func(t *testing.T, mk *qMicro)) {
	for _, l := range []Level{AVX2, AVX512} {
		t.Run(l.String(), func(t *testing.T) {
			restore, err := SetLevel(l)
			if err != nil {
				t.Skip(err)
			}
			defer restore()
			if !has(qLevel) {
				t.Skipf("the int8 kernel at %v %s", l, lacks)
			}
			f(t, qLevel)
		})
	}
}

// TestQuantNarrow: at every level with a narrow int8 kernel (the AVX2
// one, at avx2 and at avx512 without VNNI), a narrow weight gives the
// bits of the wide kernel on the same weight: through checkDirectC's
// epilogues and thread counts, and at the int16 bound (every activation
// byte 127, every weight ±64: each pair of groups sums to ±32512) with
// odd numbers of groups, where the kernel's last pair reads K's padding.
func TestQuantNarrow(t *testing.T) {
	forQuantLevels(t, func(mk *qMicro) bool { return mk.narrow != nil }, "has no narrow variant", func(t *testing.T, _ *qMicro) {
		defer func() { qWideOnly = false }()
		narrowB := func(w []float32, n, k int) *QuantB {
			q, s := QuantizeWeightsTo(w, n, k, k, NarrowQuantMax)
			qb := NewQuantB(k, n, q, s)
			if !qb.Narrow() {
				t.Fatalf("%d×%d weight quantized to ±%d is not narrow", n, k, NarrowQuantMax)
			}
			return qb
		}
		checkDirectC(t, 73, func(narrow bool, threads, m, n, k int, a, w, c []float32, ldc int, ep Epilogue) {
			qWideOnly = !narrow
			GemmQuant(Threads(threads), m, a, k, narrowB(w, n, k), c, ldc, ep)
		})
		for _, s := range []struct{ m, n, k int }{{4, 16, 4}, {5, 48, 20}, {9, 64, 3}, {13, 100, 76}, {197, 64, 132}, {8, 128, 768}} {
			for _, sign := range []float32{1, -1, 0} {
				a := make([]float32, s.m*s.k)
				for i := range a {
					a[i] = 2.5 // each row quantizes to 127s (zero point 0)
				}
				w := make([]float32, s.n*s.k)
				for i := range w {
					w[i] = sign
					if sign == 0 { // both bounds in every column
						w[i] = float32(1 - 2*(i/2%2))
					}
				}
				qb := narrowB(w, s.n, s.k)
				run := func(wide bool) []float32 {
					qWideOnly = wide
					c := make([]float32, s.m*s.n)
					GemmQuant(1, s.m, a, s.k, qb, c, s.n, Epilogue{})
					return c
				}
				want, got := run(true), run(false)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%dx%dx%d weights %v: C[%d,%d] = %v, wide kernel %v", s.m, s.n, s.k, sign, i/s.n, i%s.n, got[i], want[i])
					}
				}
				if sign != 0 && want[0] != sign*2.5*float32(s.k) {
					t.Fatalf("%dx%dx%d weights %v: C[0,0] = %v, want %v", s.m, s.n, s.k, sign, want[0], sign*2.5*float32(s.k))
				}
			}
		}
	})
}
