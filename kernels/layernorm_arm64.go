//go:build gc && !purego

package kernels

func init() {
	register("layernorm", func(l Level) {
		if l == NEON {
			layerNormImpl = layerNormNEONRows
		} else {
			layerNormImpl = layerNormGeneric
		}
	}, NEON)
}

// layerNormNEONRows runs layerNormNEON, which needs at least four elements.
func layerNormNEONRows(dst, src, weight, bias []float32, eps float32, ahead int) {
	if len(src) < 4 {
		layerNormGeneric(dst, src, weight, bias, eps, ahead)
		return
	}
	layerNormNEON(dst, src, weight, bias, eps, ahead)
}

// layerNormNEON is layerNormGeneric (len(dst) == len(src) ≥ 4, weight and
// bias empty or of src's length) with NEON, in float32 with the corrected
// two-pass statistics of layerNormAVX2 (ahead is not used yet):
//
//	mean0 := Σ src / n
//	d := src - mean0; s1, s2 := Σ d, Σ d²
//	rstd := 1 / sqrt(max(s2/n - (s1/n)², 0) + eps)
//	dst[i] = ((src[i]-mean0)·rstd - (s1/n)·rstd)·weight[i] + bias[i] // weight 1, bias 0 when empty
//
//go:noescape
func layerNormNEON(dst, src, weight, bias []float32, eps float32, ahead int)
