//go:build !purego

package kernels

func init() {
	register("ropehalf", func(l Level) {
		if l == NEON {
			ropeRotateHalf = ropeRotateHalfNEON
		} else {
			ropeRotateHalf = ropeRotateHalfGeneric
		}
	}, NEON)
}

// ropeRotateHalfNEON is ropeRotateHalfGeneric with NEON: four pairs at a
// time (the second product fused, as ropeRotateNEON does), the last
// half mod 4 pairs one by one with each product rounded on its own.
//
//go:noescape
func ropeRotateHalfNEON(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int)
