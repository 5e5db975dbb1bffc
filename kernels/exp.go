package kernels

import "math"

// Exp sets dst[i] = e^src[i]. dst and src must be the same slice or not
// overlap at all.
//
// Every level is within 2 ULP of the exact value over the whole float32
// range (the assembly: Cody-Waite range reduction x = n·ln2 + r, |r| ≤ ln2/2,
// a degree-7 minimax polynomial for e^r and a scale by 2^n done in two halves
// so that subnormal results are rounded once). Results below the smallest
// subnormal become 0, results above the largest float32 become +Inf,
// e^-Inf = 0, e^+Inf = +Inf and NaN stays NaN.
func Exp(dst, src []float32) {
	checkLen("Exp", dst, src)
	if len(src) == 0 {
		return
	}
	expImpl(dst, src)
}

// expImpl is Exp at the selected level.
var expImpl = expGeneric

// gateExpImpl sets x = e^x in place for sigmoidGate, which only needs
// results below e^gateExpFloor (under 2^-24) to be that small: the amd64
// levels raise the exponents to gateExpFloor first, so that they compute
// no subnormals (an Intel core takes a microcode assist per vector that
// holds one).
var gateExpImpl = gateExpAny

func gateExpAny(x []float32) { expImpl(x, x) }

func expGeneric(dst, src []float32) {
	for i, x := range src {
		dst[i] = float32(math.Exp(float64(x)))
	}
}
