//go:build gc && !purego

package kernels

func init() {
	register("layernorm", func(l Level) {
		switch l {
		case AVX512:
			layerNormImpl = layerNormAVX512
		case AVX2:
			layerNormImpl = layerNormAVX2
		default:
			layerNormImpl = layerNormGeneric
		}
	}, AVX2, AVX512)
}

// layerNormAVX2 is layerNormGeneric (len(dst) == len(src) > 0, weight and
// bias empty or of src's length) with AVX2+FMA, in float32 with the
// corrected two-pass statistics. It prefetches the memory ahead bytes past
// src and dst (the caller's next row, in the same allocations; 0: none):
//
//	mean0 := Σ src / n
//	d := src - mean0; s1, s2 := Σ d, Σ d²
//	rstd := 1 / sqrt(max(s2/n - (s1/n)², 0) + eps)
//	dst[i] = ((src[i]-mean0)·rstd - (s1/n)·rstd)·weight[i] + bias[i] // weight 1, bias 0 when empty
//
//go:noescape
func layerNormAVX2(dst, src, weight, bias []float32, eps float32, ahead int)

// layerNormAVX512 is layerNormAVX2 with AVX-512.
//
//go:noescape
func layerNormAVX512(dst, src, weight, bias []float32, eps float32, ahead int)
