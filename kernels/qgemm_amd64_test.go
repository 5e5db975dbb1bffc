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

// TestQuantDirectC: at avx512 with VNNI, whole tiles dequantised straight
// into C (kernelC) give the bits of the int32-tile-and-finish path, for
// every epilogue (bias, GELU, C as the residual, a separate residual, no
// bias), M and N with partial tiles, 1 and 3 threads; C's guard columns
// (ldc > N) stay as they were.
func TestQuantDirectC(t *testing.T) {
	if !HasVNNI() {
		t.Skip("no AVX-512 VNNI on this CPU")
	}
	restore, err := SetLevel(AVX512)
	if err != nil {
		t.Skip(err)
	}
	defer restore()
	if qLevel != &qVNNI {
		t.Skip("the avx512 level does not run the VNNI kernel here")
	}
	saved := qVNNI.kernelC
	defer func() { qVNNI.kernelC = saved }()
	rng := rand.New(rand.NewPCG(69, 70))
	rnd := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	for _, c := range []struct{ m, n, k int }{{6, 64, 32}, {13, 128, 77}, {197, 192, 96}, {25, 100, 64}} {
		qb := QuantizeB(true, c.k, c.n, rnd(c.n*c.k), c.k)
		a := rnd(c.m * c.k)
		ldc := c.n + 7
		for _, kind := range []string{"bias", "gelu", "residual=C", "residual", "nobias"} {
			for _, threads := range []int{1, 3} {
				init := rnd(c.m * ldc)
				ep := Epilogue{Bias: rnd(c.n)}
				switch kind {
				case "gelu":
					ep.Act = ActGELU
				case "residual":
					ep.Residual, ep.LDR = rnd(c.m*c.n), c.n
				case "nobias":
					ep.Bias = nil
				}
				run := func(kc func(int, *uint8, int, *int8, int, *float32, int, *int32, *float32, *float32, *int32, *float32, int)) []float32 {
					qVNNI.kernelC = kc
					out := append([]float32(nil), init...)
					e := ep
					if kind == "residual=C" {
						e.Residual, e.LDR = out, ldc
					}
					GemmQuant(Threads(threads), c.m, a, c.k, qb, out, ldc, e)
					return out
				}
				want, got := run(nil), run(saved)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%dx%dx%d %s threads=%d: C[%d,%d] = %v, tile path %v", c.m, c.n, c.k, kind, threads, i/ldc, i%ldc, got[i], want[i])
					}
				}
			}
		}
	}
}
