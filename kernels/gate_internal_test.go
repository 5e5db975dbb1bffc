package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGateSteps checks the level's one-pass sigmoid gate against
// sigmoidGateSteps bit for bit, at every level: lengths around the vector
// widths, dst apart from src and in place, values reaching both tails, the
// exponent floor, ±Inf and NaN, and nothing written past dst.
func TestGateSteps(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, l := range Levels() {
		t.Run(l.String(), func(t *testing.T) {
			restore, err := SetLevel(l)
			if err != nil {
				t.Skip(err)
			}
			defer restore()
			for _, a := range []float32{1, 1.702} {
				for n := 1; n <= 70; n++ {
					src := make([]float32, n)
					for i := range src {
						src[i] = float32(rng.NormFloat64() * 30)
					}
					src[0] = float32(math.Inf(1))
					if n > 2 {
						src[1], src[2] = float32(math.NaN()), float32(math.Inf(-1))
					}
					want := make([]float32, n)
					sigmoidGateSteps(want, src, a)
					got := make([]float32, n+5)
					for i := range got {
						got[i] = -7
					}
					gateImpl(got[:n], src, a)
					inPlace := append([]float32(nil), src...)
					gateImpl(inPlace, inPlace, a)
					for i := range want {
						w := math.Float32bits(want[i])
						if math.Float32bits(got[i]) != w || math.Float32bits(inPlace[i]) != w {
							t.Fatalf("a=%g n=%d: [%d] of %g = %g apart, %g in place, want %g", a, n, i, src[i], got[i], inPlace[i], want[i])
						}
					}
					for i := n; i < len(got); i++ {
						if got[i] != -7 {
							t.Fatalf("a=%g n=%d: wrote past dst at %d", a, n, i)
						}
					}
				}
			}
		})
	}
}
