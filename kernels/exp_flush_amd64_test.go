package kernels_test

import (
	"testing"

	"github.com/anyres/anyres/kernels"
)

// The AVX2 and AVX-512 softmax and fused attention set probabilities below
// 2^-126 to 0 instead of computing subnormals, which cost an Intel core a
// microcode assist per vector (BenchmarkAttentionSharp measures sharp
// rows). The generic level, and NEON, compute them exactly.

func skipGeneric(t *testing.T) {
	if kernels.Active() == kernels.Generic {
		t.Skip("the generic level computes subnormal probabilities exactly")
	}
}

func TestSoftmaxFlushesSubnormalProbabilities(t *testing.T) {
	skipGeneric(t)
	for _, n := range []int{5, 16, 37, 197, 300} {
		row := make([]float32, n)
		for i := range row {
			row[i] = -90 - float32(i%7) // e^-90 … e^-96: subnormal
		}
		row[n/2] = 0
		kernels.Softmax(row, 1, nil)
		for i, p := range row {
			want := float32(0)
			if i == n/2 {
				want = 1
			}
			if p != want {
				t.Fatalf("n=%d: p[%d] = %g, want %g", n, i, p, want)
			}
		}
	}
}

func TestAttentionFlushesSubnormalProbabilities(t *testing.T) {
	skipGeneric(t)
	const hd = 16
	for _, nk := range []int{2, 33, 197} {
		// One query; key 0 scores 0, the others -100 (q·k with q = 10·e₀).
		// Key 0's value is 0 and the others' 1: the output is the weight
		// of the low keys, e^-100·(nk-1) in exact arithmetic.
		q := make([]float32, hd)
		q[0] = 10
		k := make([]float32, nk*hd)
		v := make([]float32, nk*hd)
		for j := 1; j < nk; j++ {
			k[j*hd] = -10
			for c := range hd {
				v[j*hd+c] = 1
			}
		}
		out := make([]float32, hd)
		kernels.Attention(out, hd, q, k, v, hd, hd, hd, 1, nk, hd, 1, nil, 0)
		for c, x := range out {
			if x != 0 {
				t.Fatalf("nk=%d: out[%d] = %g, want 0 (no weight below 2^-126)", nk, c, x)
			}
		}
	}
}
