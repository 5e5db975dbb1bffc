package kernels

import (
	"math"
	"math/rand/v2"
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
