package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// int8AttnBound is the float64 reference of one head's attention and, per
// output element, the most the int8 attention may differ from it. With k'
// the keys less their mean (which moves every score of a row alike, so
// nothing), the quantization steps sq_i = max|q_i|/127 and sk_j =
// max|k'_j|/L (L = kernels.AttentionInt8KVMax(): 127, or 63 at avx2), and
// float32 sums within n·2⁻²³ relative:
//
//   - rounding q and k' moves score j of row i by at most
//     δ_ij = scale·(sq_i/2·Σ_d|k'_jd| + sk_j/2·Σ_d|q_id| + hd·sq_i·sk_j/4)
//     (+ hd·2⁻²² of the products' magnitude); with Δ_i = max_j δ_ij every
//     weight moves by at most a factor e^(±2Δ_i);
//   - each byte of P is within half a step (1/510) of p̃_j = e^(s_j − max)
//     and at most p̃_j itself (a small p̃ rounds down to 0 at worst), so
//     the numerator Σ p̃·v and the row sum l move by at most E_i·V_c and
//     E_i, with E_i = Σ_j min(1/510, p̃_j·e^(2Δ_i)) and V_c = max_j |v_jc|,
//     and the output by at most 2·E_i·V_c/(l_i − E_i);
//   - rounding v per channel moves the weighted mean by at most V_c/(2L);
//
// so |out_ic − ref_ic| ≤ M_ic·(e^(2Δ_i) − 1) + 2·E_i·V_c/(l_i − E_i) +
// V_c/(2L) + (nk + hd)·2⁻²²·V_c, with M_ic = Σ_j p_ij·|v_jc|. A fully masked
// row must be exactly zero.
func int8AttnBound(q, k, v []float32, ld, nq, nk, hd int, scale float32, bias []float32) (want, tol []float64) {
	want, tol = make([]float64, nq*hd), make([]float64, nq*hd)
	kvMax := float64(kernels.AttentionInt8KVMax())
	mean := make([]float64, hd)
	for j := 0; j < nk; j++ {
		for d := 0; d < hd; d++ {
			mean[d] += float64(k[j*ld+d]) / float64(nk)
		}
	}
	ks := make([]float64, nk)   // Σ_d |k'_jd|
	kmax := make([]float64, nk) // max_d |k'_jd|
	for j := 0; j < nk; j++ {
		for d := 0; d < hd; d++ {
			x := math.Abs(float64(k[j*ld+d]) - mean[d])
			ks[j] += x
			kmax[j] = math.Max(kmax[j], x)
		}
	}
	vmax := make([]float64, hd)
	for j := 0; j < nk; j++ {
		for c := 0; c < hd; c++ {
			vmax[c] = math.Max(vmax[c], math.Abs(float64(v[j*ld+c])))
		}
	}
	s := make([]float64, nk)
	for i := 0; i < nq; i++ {
		var qs, qmax float64
		for d := 0; d < hd; d++ {
			x := math.Abs(float64(q[i*ld+d]))
			qs += x
			qmax = math.Max(qmax, x)
		}
		sq := qmax / 127
		mx, delta := math.Inf(-1), 0.0
		for j := 0; j < nk; j++ {
			var dot, mag float64
			for c := 0; c < hd; c++ {
				x := float64(q[i*ld+c]) * float64(k[j*ld+c])
				dot, mag = dot+x, mag+math.Abs(x)
			}
			s[j] = float64(scale) * dot
			if bias != nil {
				s[j] += float64(bias[i*nk+j])
			}
			mx = math.Max(mx, s[j])
			sk := kmax[j] / kvMax
			d := float64(scale) * (sq/2*ks[j] + sk/2*qs + float64(hd)*sq*sk/4 + mag*float64(hd)*0x1p-22)
			delta = math.Max(delta, d)
		}
		if math.IsInf(mx, -1) {
			continue // want and tol 0
		}
		var l, e float64
		for j := range s {
			s[j] = math.Exp(s[j] - mx)
			l += s[j]
			e += math.Min(1.0/510, s[j]*math.Exp(2*delta))
		}
		for c := 0; c < hd; c++ {
			var acc, mag float64
			for j := 0; j < nk; j++ {
				p := s[j] / l
				acc += p * float64(v[j*ld+c])
				mag += p * math.Abs(float64(v[j*ld+c]))
			}
			want[i*hd+c] = acc
			tol[i*hd+c] = mag*(math.Exp(2*delta)-1) + 2*e*vmax[c]/(l-e) + vmax[c]/(2*kvMax) + float64(nk+hd)*0x1p-22*vmax[c]
		}
	}
	return want, tol
}

// TestAttentionInt8 checks the int8 attention (PackAttentionKVInt8 +
// AttentionPacked) at every level: against the float64 reference within
// int8AttnBound where the level runs it, and bit for bit against what it
// packs instead elsewhere (PackAttentionKVBF16); ragged query and key
// counts (not multiples of the 6-row tile, the 60-row block, the 64-key
// tile or the 256-key block), the head dimensions the families use,
// biases and masks, keys with a large shared offset (what the smoothing
// is for), guard bands around the output, and query blocks of any size
// giving the same bits.
func TestAttentionInt8(t *testing.T) {
	type tc struct {
		nq, nk, hd int
		mask       string
		offset     float32
	}
	var cases []tc
	for n, hd := range []int{32, 64, 80, 96, 17, 3} {
		for m, nk := range []int{1, 5, 33, 255, 257, 300, 513} {
			mask := lowPrecMasks[(n+m)%4]
			cases = append(cases, tc{[]int{1, 17, 70, 125}[(n+m)%4], nk, hd, mask, float32((n+m)%3) * 4})
		}
	}
	rng := rand.New(rand.NewPCG(24, 25))
	kerneltest.Run(t, func(t *testing.T) {
		var kv, ref kernels.AttentionKV
		for _, c := range cases {
			name := fmt.Sprintf("nq%d nk%d hd%d %s offset %g", c.nq, c.nk, c.hd, c.mask, c.offset)
			ld := c.hd + 3
			q := kerneltest.Rand(rng, c.nq*ld, -2, 2)
			k := kerneltest.Rand(rng, c.nk*ld, -2, 2)
			for j := 0; j < c.nk; j++ {
				for d := 0; d < c.hd; d++ {
					k[j*ld+d] += c.offset * float32(d%5-2)
				}
			}
			v := kerneltest.Rand(rng, c.nk*ld, -1, 1)
			bias := maskedBias(rng, c.nq, c.nk, c.mask)
			scale := float32(1 / math.Sqrt(float64(c.hd)))
			kernels.PackAttentionKVInt8(&kv, k, v, ld, ld, c.nk, c.hd)
			first := packedInBlocks(t, name, &kv, q, ld, c.nq, c.nk, c.hd, scale, bias)
			if !kernels.AttentionInt8() {
				kernels.PackAttentionKVBF16(&ref, k, v, ld, ld, c.nk, c.hd)
				want := make([]float32, c.nq*c.hd)
				kernels.AttentionPacked(want, c.hd, q, ld, c.nq, &ref, scale, bias, c.nk)
				sameBits(t, name, "PackAttentionKVBF16", first, want, c.nq, c.hd)
				continue
			}
			want, tol := int8AttnBound(q, k, v, ld, c.nq, c.nk, c.hd, scale, bias)
			withinBound(t, name, first, want, tol, c.nq, c.hd)
		}
	})
}

// TestAttentionInt8NonFinite: a query row with NaN or Inf gives a NaN
// output row and leaves the others as they are; keys or values with NaN
// or Inf pack the head for float32 attention (bit for bit Attention's
// result, NaN where float32 gives NaN).
func TestAttentionInt8NonFinite(t *testing.T) {
	const nq, nk, hd = 13, 70, 64
	rng := rand.New(rand.NewPCG(26, 27))
	kerneltest.Run(t, func(t *testing.T) {
		q := kerneltest.Rand(rng, nq*hd, -2, 2)
		k := kerneltest.Rand(rng, nk*hd, -2, 2)
		v := kerneltest.Rand(rng, nk*hd, -1, 1)
		scale := float32(0.125)
		var kv kernels.AttentionKV
		clean := make([]float32, nq*hd)
		kernels.PackAttentionKVInt8(&kv, k, v, hd, hd, nk, hd)
		kernels.AttentionPacked(clean, hd, q, hd, nq, &kv, scale, nil, 0)
		for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
			q2 := append([]float32(nil), q...)
			q2[4*hd+9] = bad
			got := make([]float32, nq*hd)
			kernels.PackAttentionKVInt8(&kv, k, v, hd, hd, nk, hd)
			kernels.AttentionPacked(got, hd, q2, hd, nq, &kv, scale, nil, 0)
			for i := 0; i < nq; i++ {
				for c := 0; c < hd; c++ {
					g := got[i*hd+c]
					if i == 4 && kernels.AttentionInt8() && !math.IsNaN(float64(g)) {
						t.Fatalf("q holds %v: dst[4,%d] = %v, want NaN", bad, c, g)
					}
					if i != 4 && math.Float32bits(g) != math.Float32bits(clean[i*hd+c]) {
						t.Fatalf("q holds %v: dst[%d,%d] = %v, was %v", bad, i, c, g, clean[i*hd+c])
					}
				}
			}
			for _, which := range []string{"k", "v"} {
				k2, v2 := append([]float32(nil), k...), append([]float32(nil), v...)
				if which == "k" {
					k2[30*hd+5] = bad
				} else {
					v2[30*hd+5] = bad
				}
				kernels.PackAttentionKVInt8(&kv, k2, v2, hd, hd, nk, hd)
				kernels.AttentionPacked(got, hd, q, hd, nq, &kv, scale, nil, 0)
				want := make([]float32, nq*hd)
				kernels.Attention(want, hd, q, k2, v2, hd, hd, hd, nq, nk, hd, scale, nil, 0)
				for i := range want {
					if kernels.AttentionInt8() && math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("%s holds %v: dst[%d] = %v, float32 attention gives %v", which, bad, i, got[i], want[i])
					}
				}
			}
		}
	})
}

// TestAttentionInt8Sink: a row that puts about half its weight on one key
// (an attention sink) and spreads the rest over 4096 others, each e^-8.5
// of the sink (below the 1/510 a byte holds relative to the sink), keeps
// that tail. Bytes are relative to each 256-key block's maximum, so only
// keys below 1/510 of their own block's maximum drop out (here the sink's
// 255 neighbours, weight D ≈ 0.03); every output must be within 2·D·max|v|
// + 0.005 of the float64 reference. Bytes relative to the row's running
// maximum would drop the whole tail (weight ≈ 0.45) and miss by ≈ 0.4.
func TestAttentionInt8Sink(t *testing.T) {
	const nq, nk, hd, block = 8, 4097, 64, 256
	rng := rand.New(rand.NewPCG(28, 29))
	kerneltest.Run(t, func(t *testing.T) {
		q := kerneltest.Rand(rng, nq*hd, -0.1, 0.1)
		k := kerneltest.Rand(rng, nk*hd, -1, 1)
		v := kerneltest.Rand(rng, nk*hd, -1, 1)
		for i := 0; i < nq; i++ {
			q[i*hd] = 4
		}
		for j := 1; j < nk; j++ {
			k[j*hd] = 0
		}
		k[0] = 17 // s_0 = 4·17/8 = 8.5 above the others
		for c := 0; c < hd; c++ {
			v[c] = 1
		}
		scale := float32(0.125)
		var kv kernels.AttentionKV
		kernels.PackAttentionKVInt8(&kv, k, v, hd, hd, nk, hd)
		got := make([]float32, nq*hd)
		kernels.AttentionPacked(got, hd, q, hd, nq, &kv, scale, nil, 0)
		want, _ := int8AttnBound(q, k, v, hd, nq, nk, hd, scale, nil)
		for i := 0; i < nq; i++ {
			// The weight of the keys below 1/510 of their block's maximum.
			s := make([]float64, nk)
			for j := range s {
				for d := 0; d < hd; d++ {
					s[j] += float64(q[i*hd+d]) * float64(k[j*hd+d])
				}
				s[j] *= float64(scale)
			}
			var l, dropped float64
			for j0 := 0; j0 < nk; j0 += block {
				bm := math.Inf(-1)
				for j := j0; j < min(nk, j0+block); j++ {
					bm = math.Max(bm, s[j])
				}
				for j := j0; j < min(nk, j0+block); j++ {
					p := math.Exp(s[j] - s[0])
					l += p
					if math.Exp(s[j]-bm) < 1.0/510 {
						dropped += p
					}
				}
			}
			tol := 2*dropped/l + 0.005
			worst := 0.0
			for c := 0; c < hd; c++ {
				worst = max(worst, math.Abs(float64(got[i*hd+c])-want[i*hd+c]))
			}
			if worst > tol {
				t.Fatalf("row %d: largest error %.4f, want ≤ %.4f (output[%d,0] %v, reference %v)", i, worst, tol, i, got[i*hd], want[i*hd])
			}
			if i == 0 {
				t.Logf("row 0: largest error %.5f of %.4f (dropped weight %.4f)", worst, tol, dropped/l)
			}
		}
	})
}
