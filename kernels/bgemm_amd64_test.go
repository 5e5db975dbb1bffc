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

// TestAttnDotBF16Spec: the VDPBF16PS attention kernel gives the bits of
// bdotTileGo over every 8×32 tile of its block (the pair order is the
// instruction's, as TestBF16DotKernelSpec pins), and writes nothing
// outside the block's rows and columns of t.
func TestAttnDotBF16Spec(t *testing.T) {
	if !HasBF16() {
		t.Skip("no AVX512-BF16 on this CPU")
	}
	rng := rand.New(rand.NewPCG(65, 66))
	for _, s := range [][3]int{{8, 32, 1}, {16, 32, 2}, {64, 256, 2}, {24, 96, 3}, {64, 64, 4}} {
		rows, cols, kb := s[0], s[1], s[2]
		k := 32 * kb
		lda := k + 32
		a := make([]uint16, rows*lda)
		for i := range a {
			a[i] = ToBF16(float32(rng.NormFloat64()))
		}
		w := make([]float32, cols*k)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		panelLen := k * qPanel
		data := NewBF16B(k, cols, w, k).data[:cols/qPanel*panelLen]
		const band = 37
		ld := cols + 5
		buf := make([]float32, band+rows*ld+band)
		for i := range buf {
			buf[i] = math.Float32frombits(guardMark)
		}
		attnDotBF16AVX512(kb, &a[0], 2*lda, &data[0], 2*panelLen, &buf[band], 4*ld, rows, cols)
		want := make([]float32, rows*cols)
		bdotTileGo(rows, cols, k/2, a, lda, data, panelLen, want)
		for i, v := range buf {
			r, j := (i-band)/ld, (i-band)%ld
			if i < band || i >= band+rows*ld || j >= cols {
				if math.Float32bits(v) != guardMark {
					t.Fatalf("rows=%d cols=%d kb=%d: wrote %v outside the block (buffer index %d)", rows, cols, kb, v, i)
				}
				continue
			}
			if math.Float32bits(v) != math.Float32bits(want[r*cols+j]) {
				t.Fatalf("rows=%d cols=%d kb=%d: t[%d,%d] = %v, spec %v", rows, cols, kb, r, j, v, want[r*cols+j])
			}
		}
	}
}

// TestBF16DotDirectC: the VDPBF16PS path's whole tiles stored straight
// into C (kernelC) give the bits of the tile-and-finishRow path
// (checkDirectC).
func TestBF16DotDirectC(t *testing.T) {
	if !HasBF16() {
		t.Skip("no AVX512-BF16 on this CPU")
	}
	saved := bDot.kernelC
	defer func() { bDot.kernelC = saved }()
	checkDirectC(t, 67, func(direct bool, threads, m, n, k int, a, w, c []float32, ldc int, ep Epilogue) {
		bDot.kernelC = nil
		if direct {
			bDot.kernelC = saved
		}
		bgemmDot(&bDot, threads, m, a, k, NewBF16B(k, n, w, k), c, ldc, ep)
	})
}

// checkDirectC runs product (C = A·B with epilogue ep, threads workers)
// with and without the kernels that store whole tiles straight into C
// (direct), for every epilogue the drivers tell apart (bias, GELU, C as
// the residual, a separate residual, no bias) on shapes with partial
// tiles, 1 and 3 threads, and wants the same bits; C's guard columns
// (ldc > N) must come back as they were.
func checkDirectC(t *testing.T, seed uint64, product func(direct bool, threads, m, n, k int, a, b, c []float32, ldc int, ep Epilogue)) {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	rnd := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(rng.NormFloat64())
		}
		return s
	}
	for _, c := range []struct{ m, n, k int }{{6, 64, 32}, {13, 128, 77}, {197, 192, 96}, {25, 100, 64}} {
		w, a := rnd(c.n*c.k), rnd(c.m*c.k)
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
				run := func(direct bool) []float32 {
					out := append([]float32(nil), init...)
					e := ep
					if kind == "residual=C" {
						e.Residual, e.LDR = out, ldc
					}
					product(direct, threads, c.m, c.n, c.k, a, w, out, ldc, e)
					return out
				}
				want, got := run(false), run(true)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%dx%dx%d %s threads=%d: C[%d,%d] = %v, tile path %v", c.m, c.n, c.k, kind, threads, i/ldc, i%ldc, got[i], want[i])
					}
				}
			}
		}
	}
}
