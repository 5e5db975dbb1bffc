package kernels

import "math"

// GELU sets dst = x·Φ(x) = x/2·(1 + erf(x/√2)), the exact (erf) form that
// timm's nn.GELU uses. dst may alias src.
//
// The assembly computes erf as PyTorch's CPU kernels do (Abramowitz and
// Stegun 7.1.26: 1 - t·P(t)·e^(-z²) with t = 1/(1 + p·|z|), |error| ≤
// 1.5e-7), so it agrees with torch to within 1e-6 and is within
// 1.35e-7·|x| (plus the result's rounding) of the exact value. The generic
// level uses math.Erf.
func GELU(dst, src []float32) {
	checkLen("GELU", dst, src)
	if len(src) == 0 {
		return
	}
	geluImpl(dst, src)
}

// GELUTanh sets dst to the tanh approximation of GELU,
// x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))), computed as
// x/(1 + e^(-2u)), which is the same function without tanh's cancellation.
// dst may alias src.
func GELUTanh(dst, src []float32) {
	checkLen("GELUTanh", dst, src)
	if len(src) == 0 {
		return
	}
	geluTanhImpl(dst, src)
}

// geluImpl and geluTanhImpl are GELU and GELUTanh at the selected level.
var (
	geluImpl     = geluGeneric
	geluTanhImpl = geluTanhGeneric
)

func geluGeneric(dst, src []float32) {
	for i, x := range src {
		dst[i] = float32(0.5 * float64(x) * (1 + math.Erf(float64(x)/math.Sqrt2)))
	}
}

func geluTanhGeneric(dst, src []float32) {
	const c = 0.7978845608028654 // sqrt(2/pi)
	for i, x := range src {
		v := float64(x)
		dst[i] = float32(0.5 * v * (1 + math.Tanh(c*(v+0.044715*v*v*v))))
	}
}
