package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// bf16AttnBound is the float64 reference of one head's attention and,
// per output element, the most the bfloat16 attention may differ from it.
// With ε = 2⁻⁹ (bfloat16's unit roundoff) and float32 sums of n terms
// within n·2⁻²⁴ relative:
//
//   - rounding q and k moves score j of row i by at most
//     δ_ij = scale·Σ_d |q_id·k_jd|·(2ε + ε² + hd·2⁻²⁴); with Δ_i = max_j δ_ij
//     every p_ij moves by at most a factor e^(±2Δ_i);
//   - rounding p and v changes each product p·v by at most (2ε + ε²), and
//     the float32 sums (keys, online rescaling, exp) by (nk + hd)·2⁻²³,
//
// so |out_ic - ref_ic| ≤ M_ic·((e^(2Δ_i) - 1)(1 + ε)² + 2ε + ε² + (nk + hd)·2⁻²³)
// with M_ic = Σ_j p_ij·|v_jc|. A fully masked row must be exactly zero.
func bf16AttnBound(q, k, v []float32, ld, nq, nk, hd int, scale float32, bias []float32) (want, tol []float64) {
	const eps = 1.0 / 512
	want, tol = make([]float64, nq*hd), make([]float64, nq*hd)
	s := make([]float64, nk)
	for i := 0; i < nq; i++ {
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
			delta = math.Max(delta, float64(scale)*mag*(2*eps+eps*eps+float64(hd)*0x1p-24))
		}
		if math.IsInf(mx, -1) {
			continue // want and tol 0
		}
		var sum float64
		for j := range s {
			s[j] = math.Exp(s[j] - mx)
			sum += s[j]
		}
		rel := (math.Exp(2*delta)-1)*(1+eps)*(1+eps) + 2*eps + eps*eps + float64(nk+hd)*0x1p-23
		for c := 0; c < hd; c++ {
			var acc, mag float64
			for j := 0; j < nk; j++ {
				p := s[j] / sum
				acc += p * float64(v[j*ld+c])
				mag += p * math.Abs(float64(v[j*ld+c]))
			}
			want[i*hd+c], tol[i*hd+c] = acc, mag*rel
		}
	}
	return want, tol
}

// TestAttentionBF16 checks the bfloat16 attention (PackAttentionKVBF16 +
// AttentionPacked) at every level: against the float64 reference within
// bf16AttnBound where the level runs it, and bit for bit against float32
// Attention where it falls back; ragged key counts (not multiples of the
// 32-key tile or the 256-key block), the head dimensions the families use,
// biases and masks, guard bands around the output, and query blocks of
// any size giving the same bits (what keeps results independent of the
// thread count).
func TestAttentionBF16(t *testing.T) {
	type tc struct {
		nq, nk, hd int
		mask       string
	}
	var cases []tc
	for n, hd := range []int{32, 64, 80, 96, 17} {
		for m, nk := range []int{1, 5, 33, 255, 257, 300, 513} {
			mask := lowPrecMasks[(n+m)%4]
			cases = append(cases, tc{[]int{1, 17, 70}[(n+m)%3], nk, hd, mask})
		}
	}
	rng := rand.New(rand.NewPCG(22, 23))
	kerneltest.Run(t, func(t *testing.T) {
		var kv kernels.AttentionKV
		for _, c := range cases {
			name := fmt.Sprintf("nq%d nk%d hd%d %s", c.nq, c.nk, c.hd, c.mask)
			ld := c.hd + 3
			q := kerneltest.Rand(rng, c.nq*ld, -2, 2)
			k := kerneltest.Rand(rng, c.nk*ld, -2, 2)
			v := kerneltest.Rand(rng, c.nk*ld, -1, 1)
			bias := maskedBias(rng, c.nq, c.nk, c.mask)
			scale := float32(1 / math.Sqrt(float64(c.hd)))
			kernels.PackAttentionKVBF16(&kv, k, v, ld, ld, c.nk, c.hd)
			first := packedInBlocks(t, name, &kv, q, ld, c.nq, c.nk, c.hd, scale, bias)
			if !kernels.AttentionLowPrecision() {
				want := make([]float32, c.nq*c.hd)
				kernels.Attention(want, c.hd, q, k, v, ld, ld, ld, c.nq, c.nk, c.hd, scale, bias, c.nk)
				sameBits(t, name, "Attention", first, want, c.nq, c.hd)
				continue
			}
			want, tol := bf16AttnBound(q, k, v, ld, c.nq, c.nk, c.hd, scale, bias)
			withinBound(t, name, first, want, tol, c.nq, c.hd)
		}
	})
}
