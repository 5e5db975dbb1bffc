//go:build gc && !purego

package kernels

func init() {
	register("softmax", func(l Level) {
		switch l {
		case AVX512:
			softmaxRowImpl, softmaxMaxImpl, softmaxExpImpl = softmaxRowAVX512, softmaxMaxAVX512, softmaxExpAVX512
		case AVX2:
			softmaxRowImpl, softmaxMaxImpl, softmaxExpImpl = softmaxRowAVX2, softmaxMaxAVX2, softmaxExpAVX2
		default:
			softmaxRowImpl, softmaxMaxImpl, softmaxExpImpl = softmaxRowGeneric, softmaxMaxGeneric, softmaxExpGeneric
		}
	}, AVX2, AVX512)
}

// softmaxRowAVX2 is softmaxRowGeneric (len(dst) == len(src) > 0, bias
// empty or of src's length) with AVX2+FMA. While it exponentiates it
// prefetches the memory ahead bytes past src and dst and aheadBias bytes past
// bias: the caller's next row, which must lie in the same allocations (0:
// the row itself).
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
func softmaxRowAVX2(dst, src, bias []float32, scale float32, ahead, aheadBias int) float32

// softmaxMaxAVX2 is softmaxMaxGeneric (len(src) > 0) with AVX2+FMA:
//
//	mx := -Inf
//	for i, x := range src {
//		mx = max(mx, scale*x+bias[i]) // bias[i] = 0 when bias is empty
//	}
//	return mx
//
//go:noescape
func softmaxMaxAVX2(src, bias []float32, scale float32) float32

// softmaxExpAVX2 is softmaxExpGeneric (len(dst) == len(src) > 0) with
// AVX2+FMA:
//
//	var sum float32
//	for i, x := range src {
//		dst[i] = exp(scale*x + bias[i] - shift) // bias[i] = 0 when bias is empty
//		sum += dst[i]
//	}
//	return sum
//
//go:noescape
func softmaxExpAVX2(dst, src, bias []float32, scale, shift float32) float32

// softmaxRowAVX512 is softmaxRowAVX2 with AVX-512.
//
//go:noescape
func softmaxRowAVX512(dst, src, bias []float32, scale float32, ahead, aheadBias int) float32

// softmaxMaxAVX512 is softmaxMaxAVX2 with AVX-512.
//
//go:noescape
func softmaxMaxAVX512(src, bias []float32, scale float32) float32

// softmaxExpAVX512 is softmaxExpAVX2 with AVX-512.
//
//go:noescape
func softmaxExpAVX512(dst, src, bias []float32, scale, shift float32) float32

// softmaxExpBF16AVX512 is softmaxExpBF16Go with AVX-512 and
// VCVTNEPS2BF16 (AVX512-BF16) for len(dst) ≥ len(src) rounded up to 16:
// it writes whole vectors, zeros past len(src).
//
//go:noescape
func softmaxExpBF16AVX512(dst []uint16, src, bias []float32, scale, shift float32) float32
