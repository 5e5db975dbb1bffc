//go:build gc && !purego

package kernels

func init() {
	register("exp", func(l Level) {
		switch l {
		case AVX512:
			expImpl = expAVX512
		case AVX2:
			expImpl = expAVX2
		default:
			expImpl = expGeneric
		}
	}, AVX2, AVX512)
}

// expAVX2 is expGeneric (len(dst) == len(src) > 0) with AVX2+FMA:
//
//	for i, x := range src {
//		dst[i] = float32(math.Exp(float64(x)))
//	}
//
//go:noescape
func expAVX2(dst, src []float32)

// expAVX512 is expGeneric with AVX-512.
//
//go:noescape
func expAVX512(dst, src []float32)
