package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestQdotF32 checks the level's attnI8Dot against qdotF32Go bit for bit
// (integer sums are exact; one subtraction, one conversion, one multiply
// and, when adding, one addition per element): both modes, K from 0 to 70
// groups, row strides with gaps, b's bytes over all of ±attnI8KVMax (and
// rows of 255 against ±attnI8KVMax, where int16 pairs would saturate were
// the bound larger), and nothing written between or after the tile's rows
// (guard values).
func TestQdotF32(t *testing.T) { forInt8Levels(t, testQdotF32) }

func testQdotF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kg := range []int{0, 1, 3, 16, 64, 70} {
		lda, ldb, lds := 4*kg+8, 4*kg*qPanel+64, 4*70
		a := make([]uint8, 5*lda+4*kg)
		b := make([]int8, 3*ldb+4*kg*qPanel)
		for i := range a {
			a[i] = uint8(rng.IntN(256))
		}
		lim := attnI8KVMax
		for i := range b {
			b[i] = int8(rng.IntN(2*lim+1) - lim)
		}
		if kg > 0 {
			for i := 0; i < 4; i++ {
				a[i], b[i], b[4+i] = 255, int8(lim), int8(-lim)
			}
		}
		off := make([]int32, 64)
		scl := make([]float32, 64)
		for c := range off {
			off[c], scl[c] = int32(rng.IntN(1<<16)-1<<15), float32(rng.Float64()*0.01)
		}
		rs := []float32{1, 0.5, 3, 0, 1.25, 7}
		for _, add := range []bool{false, true} {
			n := 5*lds/4 + 64 + 16
			got, want := make([]float32, n), make([]float32, n)
			for i := range got {
				got[i] = float32(i%7) - 3.5
				want[i] = got[i]
			}
			var r *float32
			if add {
				r = &rs[0]
			}
			attnI8Dot(kg, &a[0], lda, &b[0], ldb, &off[0], &scl[0], &got[0], lds, r)
			qdotF32Go(attnI8MR, kg, &a[0], lda, &b[0], ldb, &off[0], &scl[0], &want[0], lds, r)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("kg %d add %v: s[%d] = %v, want %v", kg, add, i, got[i], want[i])
				}
			}
		}
	}
}

// TestSoftmaxU8Block checks the level's attnI8Softmax against
// softmaxU8BlockGo over blocks of 1–7 rows of every length 1…70, with and
// without a bias (some of it -Inf, and rows all -Inf), running maxima
// from -Inf or above the row's: the block's and the running maxima equal;
// each byte equal or, where
// 255·e lies within the float32 exp's error of a rounding midpoint, one
// apart; the byte sum equal to the bytes'; the float32 sum within 2⁻²⁰
// relative; zeros from the length to the next multiple of 16; nothing
// written past that in any row (guard values).
func TestSoftmaxU8Block(t *testing.T) { forInt8Levels(t, testSoftmaxU8Block) }

func testSoftmaxU8Block(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for n := 1; n <= 70; n++ {
		rows := 1 + n%7
		lds, ldb, ldp := n+3, n+5, roundUp(n, 16)+16
		src := make([]float32, rows*lds)
		bias := make([]float32, rows*ldb)
		for i := range src {
			src[i] = float32(rng.Float64()*8 - 4)
		}
		for i := range bias {
			bias[i] = float32(rng.Float64()*2 - 1)
			if i%5 == 1 || i/ldb == 2 {
				bias[i] = float32(math.Inf(-1))
			}
		}
		if n > 3 {
			src[1] = -200 // flushed to 0
		}
		rs := make([]float32, rows)
		m0 := make([]float32, rows)
		for r := range rs {
			rs[r] = float32(0.5 + rng.Float64())
			m0[r] = float32(math.Inf(-1))
			if r%2 == 1 {
				m0[r] = 6 // above every score: only the running maximum stays
			}
		}
		for _, b := range [][]float32{nil, bias} {
			got, want := make([]uint8, rows*ldp), make([]uint8, rows*ldp)
			for i := range got {
				got[i], want[i] = 0x77, 0x77
			}
			f := func() []float32 { return make([]float32, rows) }
			gm, wm := append([]float32(nil), m0...), append([]float32(nil), m0...)
			gmo, gb, gq, gs, wmo, wb, wq, ws := f(), f(), f(), f(), f(), f(), f(), f()
			attnI8Softmax(got, ldp, src, lds, b, ldb, rows, n, rs, gm, gmo, gb, gq, gs)
			softmaxU8BlockGo(want, ldp, src, lds, b, ldb, rows, n, rs, wm, wmo, wb, wq, ws)
			for r := 0; r < rows; r++ {
				name := fmt.Sprintf("n %d bias %v row %d", n, b != nil, r)
				if math.Float32bits(gm[r]) != math.Float32bits(wm[r]) || gmo[r] != m0[r] || wmo[r] != m0[r] || math.Float32bits(gb[r]) != math.Float32bits(wb[r]) {
					t.Fatalf("%s: maxima %v (before %v, block %v), want %v (before %v, block %v)", name, gm[r], gmo[r], gb[r], wm[r], m0[r], wb[r])
				}
				shift := wb[r]
				if math.IsInf(float64(shift), -1) {
					shift = 0
				}
				var sum int
				for i := r * ldp; i < (r+1)*ldp; i++ {
					c := i - r*ldp
					d := int(got[i]) - int(want[i])
					if c < n && (d < -1 || d > 1) || c >= n && d != 0 {
						t.Fatalf("%s: p[%d] = %d, want %d", name, c, got[i], want[i])
					}
					if d != 0 {
						v := rs[r] * src[r*lds+c]
						if b != nil {
							v += b[r*ldb+c]
						}
						if x := 255 * math.Exp(float64(v-shift)); math.Abs(x-math.Floor(x)-0.5) > 1e-4 {
							t.Fatalf("%s: p[%d] = %d, want %d (255·e = %v is no midpoint)", name, c, got[i], want[i], x)
						}
					}
					if c < n {
						sum += int(got[i])
					}
				}
				if gq[r] != float32(sum) || math.Abs(float64(gq[r]-wq[r])) > float64(n) {
					t.Fatalf("%s: byte sum %v, bytes add to %d (specification %v)", name, gq[r], sum, wq[r])
				}
				if math.Abs(float64(gs[r]-ws[r])) > float64(ws[r])*0x1p-20 {
					t.Fatalf("%s: sum %v, want %v", name, gs[r], ws[r])
				}
			}
		}
	}
}

// TestInt8RowQuantizers checks the level's attnI8SymRow, attnI8ScaleRow
// and attnI8AbsMaxSum against their Go specifications bit for bit at every
// length 0…70 (whole vectors and the masked tail), with and without sub
// and add, all-zero rows, and nothing written past the row (guards); and
// that fsum is 0 for finite rows (even ones whose sum would overflow) and
// NaN for rows with NaN or ±Inf.
func TestInt8RowQuantizers(t *testing.T) { forInt8Levels(t, testInt8RowQuantizers) }

func testInt8RowQuantizers(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	pfRow := make([]float32, 80) // what the kernels prefetch: changes nothing
	for n := 0; n <= 70; n++ {
		src, sub, inv := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range src {
			src[i], sub[i] = float32(rng.Float64()*6-3), float32(rng.Float64()-0.5)
			inv[i] = float32(rng.Float64() * 30)
			src[i] = max(-127/inv[i], min(127/inv[i], src[i]))
		}
		zero := make([]float32, n)
		huge := make([]float32, n)
		for i := range huge {
			huge[i] = 3e38
		}
		for ci, row := range [][]float32{src, zero, huge} {
			for _, sb := range [][]float32{nil, sub} {
				if ci == 2 && sb != nil {
					continue
				}
				for _, add := range []int32{0, 128} {
					for _, lim := range []float32{127, 63} {
						got, want := make([]uint8, n+8), make([]uint8, n+8)
						for i := range got {
							got[i], want[i] = 0x55, 0x55
						}
						gs, gq, gf := attnI8SymRow(got[:n], row, sb, add, lim, &pfRow[0])
						ws, wq, wf := qSymRowGo(want[:n], row, sb, add, lim, nil)
						if gs != ws || gq != wq || gf != 0 || wf != 0 {
							t.Fatalf("n %d case %d sub %v add %d lim %v: scale %v sum %d fsum %v, want %v %d %v", n, ci, sb != nil, add, lim, gs, gq, gf, ws, wq, wf)
						}
						for i := range got {
							if got[i] != want[i] {
								t.Fatalf("n %d case %d sub %v add %d lim %v: dst[%d] = %d, want %d", n, ci, sb != nil, add, lim, i, got[i], want[i])
							}
						}
						for i := range n {
							v := int32(want[i]) - add
							if add == 0 {
								v = int32(int8(want[i]))
							}
							if v > int32(lim) || v < -int32(lim) {
								t.Fatalf("n %d case %d lim %v: dst[%d] = %d less %d is out of ±lim", n, ci, lim, i, want[i], add)
							}
						}
					}
				}
			}
		}
		if n > 0 {
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
				row := append([]float32(nil), src...)
				row[n/2] = bad
				d := make([]uint8, n)
				if _, _, f := attnI8SymRow(d, row, nil, 128, 127, nil); f == f {
					t.Fatalf("n %d: a row holding %v gives fsum %v, want NaN", n, bad, f)
				}
			}
		}
		got, want := make([]int8, n+8), make([]int8, n+8)
		for i := range got {
			got[i], want[i] = 0x55, 0x55
		}
		attnI8ScaleRow(got[:n], src, inv, nil)
		qScaleRowGo(want[:n], src, inv, nil)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("n %d: scaled dst[%d] = %d, want %d", n, i, got[i], want[i])
			}
		}
		gm, gs := make([]float32, n+1), make([]float32, n+1)
		for i := range gm {
			gm[i], gs[i] = float32(i%3), float32(i%5)
		}
		wm, ws := append([]float32(nil), gm...), append([]float32(nil), gs...)
		attnI8AbsMaxSum(gm[:n], gs[:n], sub, &pfRow[0])
		absMaxSumGo(wm[:n], ws[:n], sub, nil)
		for i := range gm {
			if gm[i] != wm[i] || gs[i] != ws[i] {
				t.Fatalf("n %d: absMaxSum [%d] = %v, %v; want %v, %v", n, i, gm[i], gs[i], wm[i], ws[i])
			}
		}
	}
}

// forInt8Levels runs f at each level with int8 attention kernels
// (avx512 where the CPU has VNNI, avx2), skipping those this machine or
// build lacks.
func forInt8Levels(t *testing.T, f func(t *testing.T)) {
	for _, l := range []Level{AVX512, AVX2} {
		t.Run(l.String(), func(t *testing.T) {
			restore, err := SetLevel(l)
			if err != nil {
				t.Skip("level not here:", err)
			}
			defer restore()
			if !AttentionInt8() {
				t.Skip("no int8 attention at this level here (no VNNI, or not built)")
			}
			f(t)
		})
	}
}

// TestAttentionInt8OtherLevel: keys and values packed for the int8
// attention at one level and used at another whose kernel reads other
// bytes (avx512's reach ±127, avx2's ±63; generic has none) panic rather
// than give wrong sums.
func TestAttentionInt8OtherLevel(t *testing.T) {
	const nq, nk, hd = 3, 20, 16
	q, k := make([]float32, nq*hd), make([]float32, nk*hd)
	for i := range k {
		k[i] = float32(i%7) - 3
	}
	for i := range q {
		q[i] = float32(i%5) - 2
	}
	dst := make([]float32, nq*hd)
	for _, c := range []struct{ pack, use Level }{{AVX512, AVX2}, {AVX2, AVX512}, {AVX2, Generic}} {
		restore, err := SetLevel(c.pack)
		if err != nil || !AttentionInt8() {
			if restore != nil {
				restore()
			}
			continue
		}
		var kv AttentionKV
		PackAttentionKVInt8(&kv, k, k, hd, hd, nk, hd)
		restore()
		restore, err = SetLevel(c.use)
		if err != nil {
			continue
		}
		func() {
			defer restore()
			defer func() {
				if recover() == nil {
					t.Errorf("packed at %s, AttentionPacked at %s did not panic", c.pack, c.use)
				}
			}()
			AttentionPacked(dst, hd, q, hd, nq, &kv, 0.25, nil, 0)
		}()
	}
}
