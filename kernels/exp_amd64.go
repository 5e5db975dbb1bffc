//go:build gc && !purego

package kernels

func init() {
	register("exp", func(l Level) {
		switch l {
		case AVX512:
			expImpl = func(dst, src []float32) { expAVX512(dst, src, expLo) }
			gateExpImpl = func(x []float32) { expAVX512(x, x, gateExpFloor) }
			gateImpl = func(dst, src []float32, a float32) { gateAVX512(dst, src, -a, gateExpFloor) }
		case AVX2:
			expImpl = func(dst, src []float32) { expAVX2(dst, src, expLo) }
			gateExpImpl = func(x []float32) { expAVX2(x, x, gateExpFloor) }
			gateImpl = func(dst, src []float32, a float32) { gateAVX2(dst, src, -a, gateExpFloor) }
		default:
			expImpl, gateExpImpl, gateImpl = expGeneric, gateExpAny, sigmoidGateSteps
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

// gateAVX2 is sigmoidGateSteps (len(dst) == len(src) > 0, dst equal to
// src or apart from it) with AVX2+FMA in one pass, na = −a, the exp's
// exponents raised to lo:
//
//	for i, x := range src {
//		dst[i] = x / (1 + e^max(na·x, lo))
//	}
//
//go:noescape
func gateAVX2(dst, src []float32, na, lo float32)

// gateAVX512 is gateAVX2 with AVX-512.
//
//go:noescape
func gateAVX512(dst, src []float32, na, lo float32)
