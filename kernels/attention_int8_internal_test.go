package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestQdotF32 checks the level's attnI8Dot against qdotF32Go bit for bit
// (integer sums are exact; one subtraction, one conversion, one multiply
// and, when adding, one addition per element): both modes, K from 0 to 70
// groups, row strides with gaps, and nothing written between or after the
// six rows (guard values).
func TestQdotF32(t *testing.T) {
	atInt8Level(t)
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kg := range []int{0, 1, 3, 16, 64, 70} {
		lda, ldb, lds := 4*kg+8, 4*kg*qPanel+64, 4*70
		a := make([]uint8, 5*lda+4*kg)
		b := make([]int8, 3*ldb+4*kg*qPanel)
		for i := range a {
			a[i] = uint8(rng.IntN(256))
		}
		for i := range b {
			b[i] = int8(rng.IntN(255) - 127)
		}
		off := make([]int32, 64)
		scl := make([]float32, 64)
		for c := range off {
			off[c], scl[c] = int32(rng.IntN(1<<16)-1<<15), float32(rng.Float64()*0.01)
		}
		for _, add := range []bool{false, true} {
			n := 5*lds/4 + 64 + 16
			got, want := make([]float32, n), make([]float32, n)
			for i := range got {
				got[i] = float32(i%7) - 3.5
				want[i] = got[i]
			}
			attnI8Dot(kg, &a[0], lda, &b[0], ldb, &off[0], &scl[0], &got[0], lds, add)
			qdotF32Go(kg, &a[0], lda, &b[0], ldb, &off[0], &scl[0], &want[0], lds, add)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("kg %d add %v: s[%d] = %v, want %v", kg, add, i, got[i], want[i])
				}
			}
		}
	}
}

// TestSoftmaxExpU8 checks the level's attnI8Exp against softmaxExpU8Go at
// every length 0…70, with and without a bias: each byte equal or, where
// 255·e lies within the float32 exp's error of a rounding midpoint, one
// apart; the byte sum equal to the bytes'; the float32 sum within 2⁻²⁰
// relative; zeros from the length to the next multiple of 16; nothing
// written past that.
func TestSoftmaxExpU8(t *testing.T) {
	atInt8Level(t)
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 0; n <= 70; n++ {
		src := make([]float32, n)
		bias := make([]float32, n)
		for i := range src {
			src[i], bias[i] = float32(rng.Float64()*8-4), float32(rng.Float64()*2-1)
		}
		if n > 3 {
			src[1] = -200 // flushed to 0
		}
		for _, b := range [][]float32{nil, bias} {
			const scale = 0.7
			shift := float32(math.Inf(-1))
			for i, x := range src {
				v := scale * x
				if b != nil {
					v += b[i]
				}
				shift = max(shift, v)
			}
			n16 := roundUp(n, 16)
			got, want := make([]uint8, n16+16), make([]uint8, n16+16)
			for i := range got {
				got[i], want[i] = 0x77, 0x77
			}
			gq, gs := attnI8Exp(got[:n16], src, b, scale, shift)
			wq, ws := softmaxExpU8Go(want[:n16], src, b, scale, shift)
			var sum int
			for i := range got {
				d := int(got[i]) - int(want[i])
				if i < n && (d < -1 || d > 1) || i >= n && d != 0 {
					t.Fatalf("n %d bias %v: dst[%d] = %d, want %d", n, b != nil, i, got[i], want[i])
				}
				if d != 0 {
					v := scale * src[i]
					if b != nil {
						v += b[i]
					}
					if x := 255 * math.Exp(float64(v-shift)); math.Abs(x-math.Floor(x)-0.5) > 1e-4 {
						t.Fatalf("n %d: dst[%d] = %d, want %d (255·e = %v is no midpoint)", n, i, got[i], want[i], x)
					}
				}
				if i < n {
					sum += int(got[i])
				}
			}
			if gq != float32(sum) || math.Abs(float64(gq-wq)) > float64(n) {
				t.Fatalf("n %d: byte sum %v, bytes add to %d (specification %v)", n, gq, sum, wq)
			}
			if math.Abs(float64(gs-ws)) > float64(ws)*0x1p-20 {
				t.Fatalf("n %d: sum %v, want %v", n, gs, ws)
			}
		}
	}
}

// atInt8Level runs the test at the level with the int8 attention kernels
// (avx512, where the CPU has VNNI) and skips it where there is none.
func atInt8Level(t *testing.T) {
	t.Helper()
	restore, err := SetLevel(AVX512)
	if err != nil {
		t.Skip("no avx512 level here:", err)
	}
	t.Cleanup(restore)
	if attnI8Dot == nil {
		restore()
		t.Skip("no int8 attention at avx512 here (no VNNI, or not built)")
	}
}
