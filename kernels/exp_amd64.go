//go:build gc && !purego

package kernels

func init() {
	register("exp", func(l Level) {
		switch l {
		case AVX512:
			expImpl = func(dst, src []float32) { expAVX512(dst, src, expLo) }
			gateExpImpl = func(x []float32) { expAVX512(x, x, gateExpFloor) }
		case AVX2:
			expImpl = func(dst, src []float32) { expAVX2(dst, src, expLo) }
			gateExpImpl = func(x []float32) { expAVX2(x, x, gateExpFloor) }
		default:
			expImpl, gateExpImpl = expGeneric, gateExpAny
		}
	}, AVX2, AVX512)
}

// expLo is the assembly's least exponent for Exp: e^-104 rounds to 0, so
// raising smaller ones to it changes no result.
const expLo = -104

// expAVX2 is expGeneric (len(dst) == len(src) > 0) with AVX2+FMA, each
// exponent first raised to lo (≥ expLo; NaN stays NaN):
//
//	for i, x := range src {
//		dst[i] = float32(math.Exp(float64(max(x, lo))))
//	}
//
//go:noescape
func expAVX2(dst, src []float32, lo float32)

// expAVX512 is expAVX2 with AVX-512.
//
//go:noescape
func expAVX512(dst, src []float32, lo float32)
