//go:build gc && !purego

package kernels

func init() {
	register("resample", func(l Level) {
		switch l {
		case AVX512:
			weightedRowSumImpl = weightedRowSumAVX512
		case AVX2:
			weightedRowSumImpl = weightedRowSumAVX2
		default:
			weightedRowSumImpl = weightedRowSumGeneric
		}
	}, AVX2, AVX512)
}

// weightedRowSumAVX2 is weightedRowSumGeneric with AVX2+FMA (the caller
// guarantees len(dst) > 0, len(offs) == len(w) > 0 and that every
// src[offs[j]:offs[j]+len(dst)] is in bounds):
//
//	for k := range dst {
//		acc := w[0] * src[offs[0]+k]
//		for j := 1; j < len(w); j++ {
//			acc += w[j] * src[offs[j]+k] // fused
//		}
//		dst[k] = acc
//	}
//
//go:noescape
func weightedRowSumAVX2(dst, src []float32, offs []int, w []float32)

// weightedRowSumAVX512 is weightedRowSumAVX2 with AVX-512 (masked tail).
//
//go:noescape
func weightedRowSumAVX512(dst, src []float32, offs []int, w []float32)
