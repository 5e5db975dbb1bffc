package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

func geluRef(x float64) float64 { return 0.5 * x * (1 + math.Erf(x/math.Sqrt2)) }

func geluTanhRef(x float64) float64 {
	return 0.5 * x * (1 + math.Tanh(math.Sqrt(2/math.Pi)*(x+0.044715*x*x*x)))
}

// geluTol is the error allowed against the exact value. PyTorch's erf
// formula is within 1.5e-7 of erf, and its float32 evaluation rounds two
// values near 1 (1 - t·P(t)·e^(-z²), then 1 + erf) by up to 6e-8 each;
// GELU scales that by |x|/2: 1.35e-7·|x|. Then the rounding of the result.
func geluTol(x, want float64) float64 {
	return 1.35e-7*math.Abs(x) + 2.5e-7*math.Abs(want) + 1e-9
}

// geluTanhTol: the result is within a few float32 roundings (3e-7
// relative) of the exact value, plus the error of 2u = 2√(2/π)·(x +
// 0.044715x³), rounded four times (x³, the sum, the product, the constant:
// 2.5e-7 relative), which x/(1 + e^(-2u)) turns into a relative error of up
// to |2u| times as much where e^(-2u) dominates (x < 0).
func geluTanhTol(x, want float64) float64 {
	u2 := 2 * math.Sqrt(2/math.Pi) * (x + 0.044715*x*x*x)
	return math.Abs(want)*(3e-7+2.5e-7*math.Abs(u2)) + 1e-9
}

// TestGELUDense compares both forms with float64 references over
// [-12, 12] in steps of 1e-4, and special values.
func TestGELUDense(t *testing.T) {
	var in []float32
	for i := -120000; i <= 120000; i++ {
		in = append(in, float32(i)*1e-4)
	}
	in = append(in, 1e-30, -1e-30, 1e-40, 30, -30, 1e10, -1e10, float32(math.Inf(1)), 0, float32(math.Copysign(0, -1)))
	kerneltest.Run(t, func(t *testing.T) {
		for _, form := range []struct {
			name string
			fn   func(dst, src []float32)
			ref  func(float64) float64
			tol  func(x, want float64) float64
		}{{"GELU", kernels.GELU, geluRef, geluTol}, {"GELUTanh", kernels.GELUTanh, geluTanhRef, geluTanhTol}} {
			got := make([]float32, len(in))
			form.fn(got, in)
			worst := 0.0
			for i, x := range in {
				want := form.ref(float64(x))
				d := math.Abs(float64(got[i]) - want)
				if math.IsInf(want, 1) && math.IsInf(float64(got[i]), 1) {
					continue
				}
				if !(d <= form.tol(float64(x), want)) {
					t.Fatalf("%s(%v) = %v, want %v (error %g)", form.name, x, got[i], want, d)
				}
				worst = max(worst, d)
			}
			nan := []float32{float32(math.NaN())}
			if form.fn(nan, nan); nan[0] == nan[0] {
				t.Errorf("%s(NaN) = %v, want NaN", form.name, nan[0])
			}
			t.Logf("%s: worst absolute error %g", form.name, worst)
		}
	})
}

// TestGELUShapes tries every length, unaligned starts, in place and guard
// bands.
func TestGELUShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	kerneltest.Run(t, func(t *testing.T) {
		for _, n := range kerneltest.Lengths() {
			for off := 0; off < 3; off++ {
				x := kerneltest.Rand(r, n, -6, 6)
				for _, form := range []struct {
					name string
					fn   func(dst, src []float32)
					ref  func(float64) float64
					tol  func(x, want float64) float64
				}{{"GELU", kernels.GELU, geluRef, geluTol}, {"GELUTanh", kernels.GELUTanh, geluTanhRef, geluTanhTol}} {
					guard := kerneltest.Slice(n, off)
					dst := guard.Data()
					form.fn(dst, x)
					guard.Check(t, form.name)
					for i, xi := range x {
						want := form.ref(float64(xi))
						if d := math.Abs(float64(dst[i]) - want); !(d <= form.tol(float64(xi), want)) {
							t.Fatalf("%s n=%d off=%d: (%v) = %v, want %v", form.name, n, off, xi, dst[i], want)
						}
					}
					inplace := append([]float32(nil), x...)
					form.fn(inplace, inplace)
					for i := range inplace {
						if inplace[i] != dst[i] {
							t.Fatalf("%s n=%d: in place differs at %d", form.name, n, i)
						}
					}
				}
			}
		}
	})
}

// TestGELUGolden compares with torch's gelu (erf and tanh) over [-12, 12]:
// within 1e-6.
func TestGELUGolden(t *testing.T) {
	f := golden.Open(t, "elementwise.safetensors")
	in, _ := f.F32(t, "gelu_in")
	wantErf, _ := f.F32(t, "gelu_erf")
	wantTanh, _ := f.F32(t, "gelu_tanh")
	kerneltest.Run(t, func(t *testing.T) {
		got := make([]float32, len(in))
		kernels.GELU(got, in)
		golden.Close(t, "gelu_erf", got, wantErf, 1e-6, 0)
		kernels.GELUTanh(got, in)
		golden.Close(t, "gelu_tanh", got, wantTanh, 1e-6, 0)
	})
}

// BenchmarkGELU: N×768 activations in one call.
func BenchmarkGELU(b *testing.B) {
	for _, n := range []int{197, 4097} {
		b.Run(fmt.Sprintf("erf/%d", n), func(b *testing.B) {
			benchRows(b, n, 768, func(dst, src []float32, _ int) { kernels.GELU(dst, src) })
		})
		b.Run(fmt.Sprintf("tanh/%d", n), func(b *testing.B) {
			benchRows(b, n, 768, func(dst, src []float32, _ int) { kernels.GELUTanh(dst, src) })
		})
	}
}

// TestActivationPositionFree checks that an element's result does not
// depend on the slice it comes in: the GEMM epilogue activates row segments
// whose length and start follow the plan (thread count, column chunks), so
// a kernel with a different formula for short slices or tails would make
// the model's bits depend on the thread count.
func TestActivationPositionFree(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	x := kerneltest.Rand(r, 67, -6, 6)
	kerneltest.Run(t, func(t *testing.T) {
		for _, act := range []kernels.Activation{kernels.ActGELU, kernels.ActGELUTanh, kernels.ActQuickGELU, kernels.ActSiLU} {
			whole := make([]float32, len(x))
			kernels.Activate(act, whole, x)
			for lo := 0; lo < len(x); lo++ {
				for hi := lo + 1; hi <= len(x) && hi <= lo+20; hi++ {
					part := make([]float32, hi-lo)
					kernels.Activate(act, part, x[lo:hi])
					for i, v := range part {
						if v != whole[lo+i] {
							t.Fatalf("activation %d on x[%d:%d]: element %d = %v, %v in the whole slice", act, lo, hi, lo+i, v, whole[lo+i])
						}
					}
				}
			}
		}
	})
}

// TestGELUSaturated checks the inputs where e^-z² (or e^-2u) is below
// e^-20, which the AVX-512 kernels clamp there to stay off subnormals: the
// result must be what the unclamped formula rounds to, x itself for
// x ≥ 6.4, and for x ≤ -6.4 a value in (-1e-9, 0] (0 where 1 - t·P(t)·e^-z²
// rounds to 1, as in the AVX kernels), at every level.
func TestGELUSaturated(t *testing.T) {
	var in []float32
	for x := 6.4; x < 1e30; x *= 1.01 {
		in = append(in, float32(x), -float32(x))
	}
	kerneltest.Run(t, func(t *testing.T) {
		for _, form := range []struct {
			name string
			fn   func(dst, src []float32)
		}{{"GELU", kernels.GELU}, {"GELUTanh", kernels.GELUTanh}} {
			got := make([]float32, len(in))
			form.fn(got, in)
			for i, x := range in {
				if x > 0 && got[i] != x || x < 0 && !(got[i] <= 0 && got[i] > -1e-9) {
					t.Fatalf("%s(%v) = %v", form.name, x, got[i])
				}
			}
		}
	})
}
