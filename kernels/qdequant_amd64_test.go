//go:build gc && !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// dequantCase is one row segment's inputs for the dequantise kernels,
// each slice exactly n long (capacity too), from tail, which places them
// where a read past the end faults when it can (see pageTail).
type dequantCase struct {
	acc, colSum []int32
	sw, bias    []float32
	res         []float32
	zero        int32
	sa          float32
}

// TestDequantKernels: the AVX2 and AVX-512 dequantise kernels give
// dequantGo's bits (then Add's for the residual) for every n up to 70
// (ragged against 8 and 16), with and without bias and residual, the
// residual apart or dst itself, and inputs with NaNs, infinities and
// signed zeros mixed in; they write nothing outside dst and read nothing
// past the inputs (each ends at an unmapped page where the OS allows).
func TestDequantKernels(t *testing.T) {
	type kernel struct {
		name string
		ok   bool
		f    func(dst []float32, acc []int32, zero int32, colSum []int32, sa float32, sw []float32, bias, res []float32)
	}
	ks := []kernel{
		{"avx2", CheckLevel(AVX2) == nil, dequantAVX2},
		{"avx512", CheckLevel(AVX512) == nil, dequantAVX512},
	}
	rng := rand.New(rand.NewPCG(81, 82))
	special := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 1e-40}
	f32 := func(n int, specials bool) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
			if specials && rng.IntN(8) == 0 {
				x[i] = special[rng.IntN(len(special))]
			}
		}
		return x
	}
	for _, k := range ks {
		if !k.ok {
			t.Logf("%s: not on this CPU", k.name)
			continue
		}
		for n := 0; n <= 70; n++ {
			for mode := 0; mode < 5; mode++ { // bit 0 bias, bit 1 residual; 4: residual in place with bias
				hasBias, hasRes := mode&1 != 0 || mode == 4, mode&2 != 0 || mode == 4
				specials := n%3 == 0
				acc := pageTail(n, func(i int) int32 { return int32(rng.Uint32()) >> rng.IntN(32) })
				colSum := pageTail(n, func(i int) int32 { return int32(rng.IntN(1<<20)) - 1<<19 })
				sw := pageTail(n, func(i int) float32 { return 0 })
				copy(sw, f32(n, specials))
				zero := int32(rng.IntN(128))
				sa := float32(rng.Float64() / 100)
				var bias, res []float32
				if hasBias {
					bias = pageTail(n, func(i int) float32 { return 0 })
					copy(bias, f32(n, specials))
				}
				init := f32(n, specials)
				if hasRes && mode != 4 {
					res = pageTail(n, func(i int) float32 { return 0 })
					copy(res, f32(n, specials))
				}
				want := make([]float32, n)
				wantRes := res
				if mode == 4 {
					wantRes = append([]float32(nil), init...)
				}
				dequantGo(want, acc, zero, colSum, sa, sw, bias, wantRes)
				// Today's two passes give the same bits.
				two := make([]float32, n)
				dequantGo(two, acc, zero, colSum, sa, sw, bias, nil)
				if wantRes != nil {
					Add(two, two, wantRes)
				}
				buf := make([]float32, n+2*17)
				for i := range buf {
					buf[i] = math.Float32frombits(0x7fc0dead)
				}
				dst := buf[17 : 17+n : 17+n]
				if mode == 4 {
					copy(dst, init)
					res = dst
				}
				k.f(dst, acc, zero, colSum, sa, sw, bias, res)
				for i := range buf {
					if (i < 17 || i >= 17+n) && math.Float32bits(buf[i]) != 0x7fc0dead {
						t.Fatalf("%s n=%d mode %d: wrote outside dst at %d", k.name, n, mode, i-17)
					}
				}
				for i := range want {
					if math.Float32bits(dst[i]) != math.Float32bits(want[i]) || math.Float32bits(two[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s n=%d mode %d: [%d] = %v (%#x), dequantGo %v (%#x), two passes %v", k.name, n, mode, i, dst[i], math.Float32bits(dst[i]), want[i], math.Float32bits(want[i]), two[i])
					}
				}
			}
		}
	}
}

// TestGemmQuantResidualFused: with the residual in the dequantising pass
// GemmQuant gives the bits of the separate pass (qSeparateResidual), apart
// and in place, at the current level.
func TestGemmQuantResidualFused(t *testing.T) {
	rng := rand.New(rand.NewPCG(83, 84))
	m, n, k := 37, 75, 64
	a := make([]float32, m*k)
	w := make([]float32, n*k)
	bias := make([]float32, n)
	r := make([]float32, m*n)
	for _, x := range [][]float32{a, w, bias, r} {
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
	}
	qb := QuantizeB(true, k, n, w, k)
	for _, inPlace := range []bool{false, true} {
		var got, want []float32
		for _, sep := range []bool{true, false} {
			qSeparateResidual = sep
			c := make([]float32, m*n)
			ep := Epilogue{Bias: bias, Residual: r, LDR: n}
			if inPlace {
				copy(c, r)
				ep.Residual = c
			}
			GemmQuant(1, m, a, k, qb, c, n, ep)
			if sep {
				want = c
			} else {
				got = c
			}
		}
		qSeparateResidual = false
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("in place %v: C[%d] = %v, separate pass %v", inPlace, i, got[i], want[i])
			}
		}
	}
}
