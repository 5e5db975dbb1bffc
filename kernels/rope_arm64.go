//go:build gc && !purego

package kernels

func init() {
	register("rope", func(l Level) {
		if l == NEON {
			ropeRotate = ropeRotateNEON
		} else {
			ropeRotate = ropeRotateGeneric
		}
	}, NEON)
}

// ropeRotateNEON is ropeRotateGeneric with NEON: four values (two pairs)
// at a time, the last pair of a row (headDim mod 4 = 2) on two lanes.
//
//go:noescape
func ropeRotateNEON(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int)
