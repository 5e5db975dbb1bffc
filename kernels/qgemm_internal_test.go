package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRoundEven: the float32 rounding trick of QuantizeWeights is
// math.RoundToEven over the range it is used on, halves included.
func TestRoundEven(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 200000; i++ {
		x := (r.Float32() - 0.5) * 300
		if i%3 == 0 {
			x = float32(int(x)) + 0.5
		}
		if got, want := roundEven(x), float32(math.RoundToEven(float64(x))); got != want {
			t.Fatalf("roundEven(%v) = %v, want %v", x, got, want)
		}
	}
}

// TestNarrowWeights: QuantizeWeightsTo spends the row's maximum on ±qmax
// (127: QuantizeWeights' values and scales), and NewQuantB calls a weight
// narrow exactly when no value passes ±NarrowQuantMax.
func TestNarrowWeights(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const out, in = 7, 40
	w := make([]float32, out*in)
	for i := range w {
		w[i] = float32(r.NormFloat64())
	}
	q8, s8 := QuantizeWeights(w, out, in, in)
	q, s := QuantizeWeightsTo(w, out, in, in, 127)
	if !slices.Equal(q, q8) || !slices.Equal(s, s8) {
		t.Fatal("QuantizeWeightsTo(…, 127) differs from QuantizeWeights")
	}
	if NewQuantB(in, out, q8, s8).Narrow() {
		t.Fatal("an 8-bit weight reaching ±127 is called narrow")
	}
	q7, s7 := QuantizeWeightsTo(w, out, in, in, NarrowQuantMax)
	for o := 0; o < out; o++ {
		var mx int
		for _, v := range q7[o*in : o*in+in] {
			mx = max(mx, int(v), -int(v))
		}
		if mx != NarrowQuantMax || math.Abs(float64(s7[o]*NarrowQuantMax/(s8[o]*127))-1) > 1e-6 {
			t.Fatalf("row %d: max |q| %d, scale %v (8-bit %v)", o, mx, s7[o], s8[o])
		}
	}
	if !NewQuantB(in, out, q7, s7).Narrow() {
		t.Fatal("a weight quantized to ±NarrowQuantMax is not narrow")
	}
	for _, v := range []int8{NarrowQuantMax + 1, -NarrowQuantMax - 1} {
		q := slices.Clone(q7)
		q[len(q)-1] = v
		if NewQuantB(in, out, q, s7).Narrow() {
			t.Fatalf("a weight holding %d is called narrow", v)
		}
	}
	for _, qmax := range []int{0, 128} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("QuantizeWeightsTo(…, %d) did not panic", qmax)
				}
			}()
			QuantizeWeightsTo(w, out, in, in, qmax)
		}()
	}
}
