package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// TestOuterSum checks OuterSum at every level against the scalar sums, bit
// for bit, for rows of every length around the vector widths, and that it
// writes nothing outside its len(a)·len(b) values.
func TestOuterSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	kerneltest.Run(t, func(t *testing.T) {
		for _, na := range []int{0, 1, 2, 5} {
			for nb := 0; nb <= 70; nb++ {
				a := kerneltest.Rand(rng, na, -50, 50)
				b := kerneltest.Rand(rng, nb, -50, 50)
				g := kerneltest.Slice(na*nb, 5)
				dst := kerneltest.RandFill(rng, g.Data(), -1, 1)
				kernels.OuterSum(dst, a, b)
				what := fmt.Sprintf("%d×%d", na, nb)
				for i := range na {
					for j := range nb {
						if got, want := dst[i*nb+j], a[i]+b[j]; math.Float32bits(got) != math.Float32bits(want) {
							t.Fatalf("%s: [%d][%d] = %v, want %v", what, i, j, got, want)
						}
					}
				}
				g.Check(t, what)
			}
		}
		// Only len(a)·len(b) values are written when dst is longer.
		dst := []float32{9, 9, 9, 9, 9, 9, 9}
		kernels.OuterSum(dst, []float32{1, 2}, []float32{10, 20, 30})
		if want := []float32{11, 21, 31, 12, 22, 32, 9}; fmt.Sprint(dst) != fmt.Sprint(want) {
			t.Fatalf("got %v, want %v", dst, want)
		}
	})
}

func TestOuterSumShortDst(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || fmt.Sprint(r) != "kernels: OuterSum: dst has 5 values, want 2×3" {
			t.Fatalf("panic %v, want the short dst named", r)
		}
	}()
	kernels.OuterSum(make([]float32, 5), make([]float32, 2), make([]float32, 3))
}
