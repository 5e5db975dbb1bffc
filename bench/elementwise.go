package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/anyres/anyres/kernels"
)

// ElementwiseOps are the operations ElementwiseBench measures.
var ElementwiseOps = []string{"softmax", "layernorm", "gelu", "gelu_tanh", "exp"}

// ElementwiseSizes returns the default rows×cols of op at ViT sizes: one
// attention head's N×N scores for softmax (N = 197, 577, 1025, 4097 tokens:
// 224², 384², 512², 1024² at patch 16), N×768 activations for the others.
// The first fit in L2, the last far exceed it.
func ElementwiseSizes(op string) [][2]int {
	var out [][2]int
	for _, n := range []int{197, 577, 1025, 4097} {
		if op == "softmax" {
			out = append(out, [2]int{n, n})
		} else {
			out = append(out, [2]int{n, 768})
		}
	}
	return out
}

// ElementwiseBench measures op on a rows×cols float32 matrix at one thread,
// the way the ViT calls it: softmax (SoftmaxRows, scale 1/8, no bias),
// layernorm (LayerNormRows with weight and bias, eps 1e-6), gelu,
// gelu_tanh and exp over the whole matrix in one call, each into a separate
// output. Next to it, the same matrix copied with copy() gives the memory
// bound: bound_ratio = time / copy time (1 = as fast as a copy).
//
// Fields: op, rows, cols, level, ms (median per matrix), elem_per_ns, gbps
// (bytes read and written, 8 per element), copy_gbps, bound_ratio.
func ElementwiseBench(op string, rows, cols int, minTime time.Duration) (Result, error) {
	if rows <= 0 || cols <= 0 || rows*cols > 1<<28 {
		return Result{}, fmt.Errorf("matrix %d×%d: want positive sizes, at most 2^28 elements", rows, cols)
	}
	rng := rand.New(rand.NewPCG(5, uint64(rows*cols)))
	n := rows * cols
	src, dst := make([]float32, n), make([]float32, n)
	for i := range src {
		src[i] = float32(rng.NormFloat64() * 3)
	}
	w, b := make([]float32, cols), make([]float32, cols)
	for i := range w {
		w[i], b[i] = 1+0.1*float32(rng.NormFloat64()), 0.1*float32(rng.NormFloat64())
	}
	var run func()
	switch op {
	case "softmax":
		run = func() { kernels.SoftmaxRows(dst, src, cols, 0.125, nil) }
	case "layernorm":
		run = func() { kernels.LayerNormRows(dst, src, cols, w, b, 1e-6) }
	case "gelu":
		run = func() { kernels.GELU(dst, src) }
	case "gelu_tanh":
		run = func() { kernels.GELUTanh(dst, src) }
	case "exp":
		run = func() { kernels.Exp(dst, src) }
	default:
		return Result{}, fmt.Errorf("unknown elementwise op %q (have %v)", op, ElementwiseOps)
	}
	// The copy gets buffers of its own: copy() streams large blocks past the
	// caches, which would evict dst before the op's turn.
	csrc, cdst := slices.Clone(src), make([]float32, n)
	t, copyTime := medianTimes(run, func() { copy(cdst, csrc) }, minTime)
	sec := t.Seconds()
	return Result{Kind: "elementwise", Fields: map[string]any{
		"op": op, "rows": rows, "cols": cols, "level": kernels.Active().String(), "threads": 1,
		"ms":          roundSig(sec*1e3, 4),
		"elem_per_ns": roundSig(float64(n)/(sec*1e9), 4),
		"gbps":        roundSig(8*float64(n)/(sec*1e9), 4),
		"copy_gbps":   roundSig(8*float64(n)/(copyTime.Seconds()*1e9), 4),
		"bound_ratio": roundSig(sec/copyTime.Seconds(), 3),
	}}, nil
}

// medianTimes runs f and g alternately (after one warm-up call each), at
// least 5 times and for at least minTime, and returns the median duration of
// each: alternating keeps a noisy machine's slow spells out of their ratio.
func medianTimes(f, g func(), minTime time.Duration) (tf, tg time.Duration) {
	f()
	g()
	var fs, gs []time.Duration
	start := time.Now()
	for len(fs) < 5 || time.Since(start) < minTime {
		t0 := time.Now()
		f()
		t1 := time.Now()
		g()
		fs, gs = append(fs, t1.Sub(t0)), append(gs, time.Since(t1))
	}
	slices.Sort(fs)
	slices.Sort(gs)
	return fs[len(fs)/2], gs[len(gs)/2]
}

// roundSig rounds x to sig significant digits, for readable output.
func roundSig(x float64, sig int) float64 {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return x
	}
	p := math.Pow(10, float64(sig-1)-math.Floor(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}
