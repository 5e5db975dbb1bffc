package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// TestAddBits checks Add at every level against the scalar sums, bit for
// bit, at every length around the vector widths, in place and not, and
// that it writes nothing outside dst.
func TestAddBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	kerneltest.Run(t, func(t *testing.T) {
		for n := 0; n <= 80; n++ {
			a := kerneltest.Rand(rng, n, -100, 100)
			b := kerneltest.Rand(rng, n, -1, 1)
			g := kerneltest.Slice(n, 3)
			dst := g.Data()
			kernels.Add(dst, a, b)
			for i := range n {
				if want := a[i] + b[i]; math.Float32bits(dst[i]) != math.Float32bits(want) {
					t.Fatalf("n=%d: dst[%d] = %v, want %v", n, i, dst[i], want)
				}
			}
			g.Check(t, fmt.Sprint("n=", n))
			want := append([]float32(nil), dst...)
			kernels.Add(a, a, b)
			if fmt.Sprint(a) != fmt.Sprint(want) {
				t.Fatalf("n=%d in place: %v, want %v", n, a, want)
			}
		}
	})
}
