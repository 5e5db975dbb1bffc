//go:build gc && !purego

package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestBF16DotKernelSpec: the VDPBF16PS kernel gives the bits of its Go
// specification (pairs of K, odd element first, each sum rounded).
func TestBF16DotKernelSpec(t *testing.T) {
	if !HasBF16() {
		t.Skip("no AVX512-BF16 on this CPU")
	}
	rng := rand.New(rand.NewPCG(41, 42))
	for _, k := range []int{1, 2, 7, 64, 301} {
		n := 64
		w := make([]float32, n*k)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		pb := NewBF16B(k, n, w, k)
		mr, nr := bDot.mr, bDot.nr
		a := make([]uint16, mr*pb.kp)
		for i := range a {
			if i%pb.kp < k {
				a[i] = ToBF16(float32(rng.NormFloat64()) * 3)
			}
		}
		got, want := make([]float32, mr*nr), make([]float32, mr*nr)
		bgemmDotAVX512(pb.kp/2, &a[0], pb.kp, &pb.data[0], pb.kp*qPanel, &got[0])
		bdotTileGo(mr, nr, pb.kp/2, a, pb.kp, pb.data, pb.kp*qPanel, want)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("k=%d: tile[%d] = %v, spec %v", k, i, got[i], want[i])
			}
		}
	}
}

// TestToBF16 checks the conversion against VCVTNEPS2BF16 on edge values.
func TestToBF16(t *testing.T) {
	vals := []float32{0, -0.0, 1, -1, 1.00390625, 1.01171875, 3.4e38, -3.4e38, float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), 1e-40, -1e-40, 1.1754944e-38, 65504, 0.1, 1.0 / 3}
	rng := rand.New(rand.NewPCG(43, 44))
	for range 1000 {
		vals = append(vals, math.Float32frombits(rng.Uint32()))
	}
	for len(vals)%16 != 0 {
		vals = append(vals, 0)
	}
	want := make([]uint16, len(vals))
	convertBF16Go(want, vals)
	for i, v := range vals {
		if w := FromBF16(want[i]); w != v && v == v && !math.IsInf(float64(w), 0) && math.Abs(float64(FromBF16(want[i])-v)) > math.Abs(float64(v))/128 && math.Float32bits(v)&0x7f800000 != 0 {
			t.Fatalf("ToBF16(%v) = %v: too far", v, FromBF16(want[i]))
		}
	}
	if !HasBF16() {
		return
	}
	got := make([]uint16, len(vals))
	convertBF16AVX512(got, vals)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("VCVTNEPS2BF16(%v [%#08x]) = %#04x, ToBF16 %#04x", vals[i], math.Float32bits(vals[i]), got[i], want[i])
		}
	}
}
