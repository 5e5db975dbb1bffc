package nn

import "math"

// Outlier-proof int8: trained ViTs carry LayerNorm channels 10–100× the
// rest (large gains and biases), and a per-row activation scale spends its
// 7 bits on those few and rounds the others away. A LayerNorm's affine
// part is a per-channel map, y_j = n_j·γ_j + β_j of the normalised n, and
// the Linear after it is linear in its inputs, so both can be rewritten
// without changing the float32 function:
//
//   - β folds into the Linear's bias exactly: b' = b + W'·(β/s), and the
//     norm then adds nothing;
//   - the gain is split by a per-channel factor s_j > 0: the norm keeps
//     γ'_j = γ_j / s_j, the Linear's column j takes W'_{:,j} = W_{:,j}·s_j
//     (SmoothQuant's migration, Xiao et al. 2023, with the activation's
//     range known from γ instead of calibration data).
//
// The factor follows SmoothQuant: s_j = a_j^α / w_j^(1−α), with w_j =
// max_o |W_{o,j}| and a_j the range of the channel's input, |γ_j|·r_j,
// where r_j is the normalised activation's largest |n_j| — measured by
// `anyres quantize -calibrate` and stored as the norm's Range, else 1 (a
// normalised row has unit spread in every channel it keeps). Scaling a
// channel's γ_j and β_j by f and its column by 1/f (how outlier channels
// look) multiplies s_j by f for any α: the rewritten model is the same.
// α = 1 puts a gain spread the weights do not compensate wholly in the
// weight columns (coarsening their rows' int8 scale); α = 0.5 splits it.
// docs/quantization.md gives the measurements behind smoothAlpha.
//
// The rewrite only runs for layers that are quantized to int8, and only
// where the norm's output feeds those layers alone (BuildAfter's
// contract), so float32 and bf16 models keep their exact bits. A norm
// that `anyres quantize` smoothed already (LayerNorm.Smoothed) only has
// its β folded.

// smoothAlpha is SmoothQuant's migration strength α (see above);
// smoothOff turns the rewrite off, for measurements of per-row int8
// alone (export_test.go).
var (
	smoothAlpha = 0.5
	smoothOff   = false
)

// smoothNorm rewrites norm (a copy of its tensors: they may be the
// checkpoint's read-only memory) and the layers that read it so that their
// composition is unchanged and the layers' inputs have no outlier
// channels, and returns the factors s (nil when it changed nothing: the
// widths do not match, a load that has already failed, or the norm has no
// bias and every factor is 1, as in a checkpoint `anyres quantize` has
// smoothed). A layer's W is rewritten (and marked Smoothed) only when some
// factor is not 1. The bias is folded as b + W'·β' with β' = β/s, where
// W' is what folded(r) returns for the layer (the int8 layers' quantized
// weight, so that the bits are the same whether the factors are applied
// here or were applied to a checkpoint, whose norm then holds β'; nil:
// r.W).
func smoothNorm(norm *LayerNorm, layers []*RawLinear, folded func(r *RawLinear) []float32) []float64 {
	if norm == nil || len(layers) == 0 || smoothOff {
		return nil
	}
	d := len(norm.W)
	if d == 0 || len(norm.B) != d || (norm.Range != nil && len(norm.Range) != d) {
		return nil
	}
	for _, r := range layers {
		if r.In <= 0 || r.In%d != 0 || len(r.W) != r.Out*r.In || (r.B != nil && len(r.B) != r.Out) {
			return nil
		}
	}
	s := smoothFactors(norm, layers)
	changed, biased := false, false
	for j := range d {
		changed = changed || s[j] != 1
		biased = biased || norm.B[j] != 0
	}
	if !changed && !biased {
		return nil
	}
	beta := make([]float64, d) // β' = β/s, as a smoothed checkpoint holds it
	for j := range d {
		beta[j] = float64(float32(float64(norm.B[j]) / s[j]))
	}
	for _, r := range layers {
		k := r.In / d // a convolution's kernel positions per channel
		b := make([]float32, r.Out)
		if r.B != nil {
			copy(b, r.B)
		}
		if changed {
			sc := perColumn(s, k)
			w := make([]float32, len(r.W))
			for o := 0; o < r.Out; o++ {
				row, dst := r.W[o*r.In:(o+1)*r.In], w[o*r.In:(o+1)*r.In]
				for i, v := range row {
					dst[i] = float32(float64(v) * sc[i])
				}
			}
			r.W = w
		}
		r.B, r.Smoothed = b, r.Smoothed || changed
		wf := r.W
		if folded != nil {
			if q := folded(r); q != nil {
				wf = q
			}
		}
		bc := perColumn(beta, k)
		for o := 0; o < r.Out; o++ {
			acc := float64(r.B[o])
			for i, v := range wf[o*r.In : (o+1)*r.In] {
				acc += float64(v) * bc[i]
			}
			r.B[o] = float32(acc)
		}
	}
	g, z := make([]float32, d), make([]float32, d)
	for j := range g {
		g[j] = float32(float64(norm.W[j]) / s[j])
		z[j] = float32(-beta[j])
	}
	norm.W, norm.B, norm.Zero = g, make([]float32, d), z
	return s
}

// smoothFactors returns s_j > 0 for each channel of norm read by layers.
// A channel whose gain is 0 (its input is β_j alone, folded into the
// bias) keeps s_j = 1, so that the norm's Zero row still cancels its β.
// A channel no layer reads (a zero column) takes the whole gain.
func smoothFactors(norm *LayerNorm, layers []*RawLinear) []float64 {
	d := len(norm.W)
	wmax := make([]float64, d)
	for _, r := range layers {
		k := r.In / d
		// Each column's largest |w|, as the bits of |w|: integer order is
		// float order for values without a sign, without the NaN and
		// signed-zero branches of a float max.
		col := make([]uint32, r.In)
		for o := 0; o < r.Out; o++ {
			for i, v := range r.W[o*r.In : (o+1)*r.In] {
				col[i] = max(col[i], math.Float32bits(v)&0x7fffffff)
			}
		}
		for i, m := range col {
			wmax[i/k] = max(wmax[i/k], float64(math.Float32frombits(m)))
		}
	}
	s := make([]float64, d)
	if norm.Smoothed != nil {
		// The checkpoint's rewrite is applied already (anyres quantize):
		// fold β, keep the weights.
		for j := range s {
			s[j] = 1
		}
		return s
	}
	for j := range s {
		r := 1.0
		if norm.Range != nil && norm.Range[j] > 0 {
			r = float64(norm.Range[j]) // 0: never seen non-zero, keep 1
		}
		a := math.Abs(float64(norm.W[j])) * r
		switch {
		case a == 0:
			s[j] = 1
		case wmax[j] == 0 || smoothAlpha == 1:
			s[j] = a
		default:
			s[j] = math.Pow(a, smoothAlpha) / math.Pow(wmax[j], 1-smoothAlpha)
		}
		if !(s[j] > 0) || math.IsInf(s[j], 0) || math.Abs(s[j]-1) <= 1e-6 {
			// Within float32 rounding of 1: a smoothed checkpoint's
			// factors come out of float32 tensors; keep its weights.
			s[j] = 1
		}
	}
	return s
}

// perColumn spreads per-channel values v over the columns of a layer that
// reads k columns per channel (a convolution's kernel positions), so the
// loops over a weight row index it directly.
func perColumn(v []float64, k int) []float64 {
	out := make([]float64, len(v)*k)
	for i := range out {
		out[i] = v[i/k]
	}
	return out
}
