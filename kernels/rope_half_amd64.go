//go:build !purego

package kernels

func init() {
	register("ropehalf", func(l Level) {
		switch l {
		case AVX2:
			ropeRotateHalf = ropeRotateHalfAVX2
		case AVX512:
			ropeRotateHalf = ropeRotateHalfAVX512
		default:
			ropeRotateHalf = ropeRotateHalfGeneric
		}
	}, AVX2, AVX512)
}

// ropeRotateHalfAVX2 is ropeRotateHalfGeneric with AVX2+FMA: eight pairs
// (eight values of each half) at a time, masked loads and stores for the
// last pairs of a head; the second product of each value is fused into
// the sum (as ropeRotateAVX2 does).
//
//go:noescape
func ropeRotateHalfAVX2(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int)

// ropeRotateHalfAVX512 is the same on sixteen pairs, the tail under K1.
//
//go:noescape
func ropeRotateHalfAVX512(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int)
