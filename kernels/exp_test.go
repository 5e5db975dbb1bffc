package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

const expMaxULP = 2

// checkExpRange runs Exp over every float32 bit pattern from start up to
// 2^32 in steps of stride (batches of 4096) and checks each result against
// math.Exp: within expMaxULP, Inf exactly where the rounded value overflows,
// NaN exactly for NaN inputs.
func checkExpRange(t *testing.T, start, stride uint64) {
	const batch = 4096
	src := make([]float32, batch)
	dst := make([]float32, batch)
	worst, worstX, worstGot := 0.0, float32(0), float32(0)
	for b := start; b < 1<<32; {
		n := 0
		for ; n < batch && b < 1<<32; b += stride {
			src[n] = math.Float32frombits(uint32(b))
			n++
		}
		kernels.Exp(dst[:n], src[:n])
		for i, x := range src[:n] {
			got := dst[i]
			if x != x {
				if got == got {
					t.Fatalf("Exp(NaN %#x) = %v, want NaN", math.Float32bits(x), got)
				}
				continue
			}
			want := math.Exp(float64(x))
			if math.IsInf(float64(float32(want)), 1) != math.IsInf(float64(got), 1) {
				t.Fatalf("Exp(%v) = %v, want %v (overflow boundary)", x, got, float32(want))
			}
			if math.IsInf(float64(got), 1) {
				continue
			}
			if d := kerneltest.ULPDiff(got, want); d > worst {
				worst, worstX, worstGot = d, x, got
			}
		}
	}
	if worst > expMaxULP {
		t.Errorf("Exp(%v) = %v is %.2f ULP from %v (max %d)", worstX, worstGot, worst, math.Exp(float64(worstX)), expMaxULP)
	}
	t.Logf("worst error %.3f ULP at x = %v", worst, worstX)
}

// TestExpSample checks a dense sample of all float32 inputs at every level.
func TestExpSample(t *testing.T) {
	stride := uint64(4093) // about a million inputs
	if testing.Short() {
		stride = 16411
	}
	kerneltest.Run(t, func(t *testing.T) { checkExpRange(t, 0, stride) })
}

// TestExpExhaustive checks every float32 input at every level; opt in with
// ANYRES_EXP_EXHAUSTIVE=1 (about a minute per level).
func TestExpExhaustive(t *testing.T) {
	if os.Getenv("ANYRES_EXP_EXHAUSTIVE") == "" {
		t.Skip("set ANYRES_EXP_EXHAUSTIVE=1 to check all 2^32 inputs")
	}
	kerneltest.Run(t, func(t *testing.T) { checkExpRange(t, 0, 1) })
}

// TestExpEdges pins the special values and the underflow and overflow
// boundaries.
func TestExpEdges(t *testing.T) {
	inf := float32(math.Inf(1))
	maxArg := float32(88.72283) // largest x with e^x below MaxFloat32 after rounding
	cases := []struct{ x, want float32 }{
		{0, 1}, {float32(math.Copysign(0, -1)), 1},
		{inf, inf}, {-inf, 0},
		{89, inf}, {1e30, inf}, {math.MaxFloat32, inf},
		{-104, 0}, {-1e30, 0}, {-math.MaxFloat32, 0},
		{-103.28, math.Float32frombits(1)}, // the smallest subnormal
		{maxArg, float32(math.Exp(float64(maxArg)))},
		{math.Nextafter32(maxArg, 100), inf},
	}
	kerneltest.Run(t, func(t *testing.T) {
		src := make([]float32, len(cases)+1)
		for i, c := range cases {
			src[i] = c.x
		}
		src[len(cases)] = float32(math.NaN())
		dst := make([]float32, len(src))
		kernels.Exp(dst, src)
		for i, c := range cases {
			if dst[i] != c.want {
				t.Errorf("Exp(%v) = %v, want %v", c.x, dst[i], c.want)
			}
		}
		if v := dst[len(cases)]; v == v {
			t.Errorf("Exp(NaN) = %v, want NaN", v)
		}
	})
}

// TestExpShapes tries every length, unaligned starts, in-place use and
// guard bands.
func TestExpShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	kerneltest.Run(t, func(t *testing.T) {
		for _, n := range kerneltest.Lengths() {
			for off := 0; off < 3; off++ {
				in := kerneltest.Rand(r, n, -90, 90)
				guard := kerneltest.Slice(n, off)
				dst := guard.Data()
				kernels.Exp(dst, in)
				guard.Check(t, "Exp")
				for i, x := range in {
					if d := kerneltest.ULPDiff(dst[i], math.Exp(float64(x))); d > expMaxULP {
						t.Fatalf("n=%d off=%d: Exp(%v) = %v, %.1f ULP off", n, off, x, dst[i], d)
					}
				}
				inplace := append([]float32(nil), in...)
				kernels.Exp(inplace, inplace)
				for i := range in {
					if inplace[i] != dst[i] {
						t.Fatalf("n=%d: in-place Exp differs at %d: %v vs %v", n, i, inplace[i], dst[i])
					}
				}
			}
		}
	})
}

// TestExpGolden compares with torch.exp over [-104, 89]. PyTorch 1.13 is
// within 1 ULP of exact, so the two may differ by 3 ULP (relative 3·2^-23),
// or 3 subnormal steps where the result is subnormal.
func TestExpGolden(t *testing.T) {
	f := golden.Open(t, "elementwise.safetensors")
	in, _ := f.F32(t, "exp_in")
	want, _ := f.F32(t, "exp")
	kerneltest.Run(t, func(t *testing.T) {
		got := make([]float32, len(in))
		kernels.Exp(got, in)
		golden.Close(t, "exp", got, want, 3*math.Ldexp(1, -149), 3*math.Ldexp(1, -23))
	})
}

// BenchmarkExp: N×768 values in one call.
func BenchmarkExp(b *testing.B) {
	for _, n := range []int{197, 4097} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchRows(b, n, 768, func(dst, src []float32, _ int) { kernels.Exp(dst, src) })
		})
	}
}
