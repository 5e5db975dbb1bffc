//go:build gc && !purego

package kernels

func init() {
	register("softmax", func(l Level) {
		if l == NEON {
			softmaxRowImpl, softmaxMaxImpl, softmaxExpImpl = softmaxRowNEONRows, softmaxMaxNEONRows, softmaxExpNEONRows
		} else {
			softmaxRowImpl, softmaxMaxImpl, softmaxExpImpl = softmaxRowGeneric, softmaxMaxGeneric, softmaxExpGeneric
		}
	}, NEON)
}

// The NEON kernels need at least four elements; shorter rows take the
// generic code.

func softmaxRowNEONRows(dst, src, bias []float32, scale float32, ahead, aheadBias int) float32 {
	if len(src) < 4 {
		return softmaxRowGeneric(dst, src, bias, scale, ahead, aheadBias)
	}
	return softmaxRowNEON(dst, src, bias, scale, ahead, aheadBias)
}

func softmaxMaxNEONRows(src, bias []float32, scale float32) float32 {
	if len(src) < 4 {
		return softmaxMaxGeneric(src, bias, scale)
	}
	return softmaxMaxNEON(src, bias, scale)
}

func softmaxExpNEONRows(dst, src, bias []float32, scale, shift float32) float32 {
	if len(src) < 4 {
		return softmaxExpGeneric(dst, src, bias, scale, shift)
	}
	return softmaxExpNEON(dst, src, bias, scale, shift)
}

// softmaxRowNEON is softmaxRowGeneric (len(dst) == len(src) ≥ 4, bias empty
// or of src's length) with NEON (ahead and aheadBias are not used yet):
//
//	mx := softmaxMax(src, bias, scale)
//	if mx == -Inf {
//		return mx
//	}
//	sum := softmaxExp(dst, src, bias, scale, mx)
//	for i := range dst {
//		dst[i] *= 1 / sum
//	}
//	return mx
//
//go:noescape
func softmaxRowNEON(dst, src, bias []float32, scale float32, ahead, aheadBias int) float32

// softmaxMaxNEON is softmaxMaxGeneric (len(src) ≥ 4) with NEON:
//
//	mx := -Inf
//	for i, x := range src {
//		mx = max(mx, scale*x+bias[i]) // bias[i] = 0 when bias is empty; NaN wins
//	}
//	return mx
//
//go:noescape
func softmaxMaxNEON(src, bias []float32, scale float32) float32

// softmaxExpNEON is softmaxExpGeneric (len(dst) == len(src) ≥ 4) with NEON:
//
//	var sum float32
//	for i, x := range src {
//		dst[i] = exp(scale*x + bias[i] - shift) // bias[i] = 0 when bias is empty
//		sum += dst[i]
//	}
//	return sum
//
//go:noescape
func softmaxExpNEON(dst, src, bias []float32, scale, shift float32) float32
