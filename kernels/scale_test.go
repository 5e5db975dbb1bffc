package kernels_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
)

// TestScaleBits checks Scale at the active level (CI runs the suite at
// every level) against the scalar product, bit for bit, at every length
// around the vector widths, in place and not, and that it writes nothing
// past dst.
func TestScaleBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= 80; n++ {
		src := make([]float32, n+8)
		for i := range src {
			src[i] = float32(rng.NormFloat64() * 100)
		}
		s := float32(rng.Float64()*3 - 1)
		want := make([]float32, n)
		for i := range want {
			want[i] = s * src[i]
		}
		dst := make([]float32, n+8)
		for i := range dst {
			dst[i] = -7
		}
		kernels.Scale(dst[:n], src[:n], s)
		for i := range n {
			if math.Float32bits(dst[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d: dst[%d] = %v, want %v", n, i, dst[i], want[i])
			}
		}
		for i := n; i < len(dst); i++ {
			if dst[i] != -7 {
				t.Fatalf("n=%d: Scale wrote dst[%d] past the slice", n, i)
			}
		}
		kernels.Scale(src[:n], src[:n], s)
		for i := range n {
			if math.Float32bits(src[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d in place: [%d] = %v, want %v", n, i, src[i], want[i])
			}
		}
	}
}
