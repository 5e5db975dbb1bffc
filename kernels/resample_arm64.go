//go:build gc && !purego

package kernels

func init() {
	register("resample", func(l Level) {
		if l == NEON {
			weightedRowSumImpl = weightedRowSumNEON
		} else {
			weightedRowSumImpl = weightedRowSumGeneric
		}
	}, NEON)
}

// weightedRowSumNEON is weightedRowSumGeneric with NEON (the caller
// guarantees len(dst) > 0, len(offs) == len(w) > 0 and that every
// src[offs[j]:offs[j]+len(dst)] is in bounds):
//
//	for k := range dst {
//		var acc float32
//		for j := range w {
//			acc += w[j] * src[offs[j]+k] // fused
//		}
//		dst[k] = acc
//	}
//
//go:noescape
func weightedRowSumNEON(dst, src []float32, offs []int, w []float32)
