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
	for _, l := range []Level{AVX2, AVX512} {
		t.Run(l.String(), func(t *testing.T) {
			restore, err := SetLevel(l)
			if err != nil {
				t.Skip(err)
			}
			defer restore()
			mk := qLevel
			if mk.kernelC == nil {
				t.Skipf("the int8 kernel at %v stores tiles only", l)
			}
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
}
