package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSoftmaxExpBF16 checks the level's attnBF16Exp against float64 at
// every length 0…70, with and without a bias: each value within one
// bfloat16 rounding (2⁻⁸ relative) plus the float32 exp's error (2⁻²⁰)
// of e^(scale·x + b - shift), the returned sum within 2⁻²⁰ relative,
// zeros from the length to the next multiple of 16, and nothing written
// past that (a guard value).
func TestSoftmaxExpBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= 70; n++ {
		src := make([]float32, n)
		bias := make([]float32, n)
		for i := range src {
			src[i], bias[i] = float32(rng.Float64()*8-4), float32(rng.Float64()*2-1)
		}
		for _, b := range [][]float32{nil, bias} {
			n16 := roundUp(n, 16)
			dst := make([]uint16, n16+16)
			for i := range dst {
				dst[i] = 0x7777
			}
			const scale, shift = 0.7, 1.5
			sum := attnBF16Exp(dst[:n16], src, b, scale, shift)
			var want float64
			for i, x := range src {
				v := float64(scale) * float64(x)
				if b != nil {
					v += float64(b[i])
				}
				e := math.Exp(v - shift)
				want += e
				if got := float64(FromBF16(dst[i])); math.Abs(got-e) > e*(0x1p-8+0x1p-20) {
					t.Fatalf("n %d bias %v: dst[%d] = %v, want %v", n, b != nil, i, got, e)
				}
			}
			if math.Abs(float64(sum)-want) > want*0x1p-20 {
				t.Fatalf("n %d: sum %v, want %v", n, sum, want)
			}
			for i := n; i < n16; i++ {
				if dst[i] != 0 {
					t.Fatalf("n %d: dst[%d] = %#x past the row, want 0", n, i, dst[i])
				}
			}
			for i := n16; i < len(dst); i++ {
				if dst[i] != 0x7777 {
					t.Fatalf("n %d: wrote dst[%d] past the rounded length", n, i)
				}
			}
		}
	}
}
