//go:build gc && !purego

package kernels

func init() {
	register("rope", func(l Level) {
		switch l {
		case AVX2:
			ropeRotate = ropeRotateAVX2
		case AVX512:
			ropeRotate = ropeRotateAVX512
		default:
			ropeRotate = ropeRotateGeneric
		}
	}, AVX2, AVX512)
}

// ropeRotateAVX2 is ropeRotateGeneric with AVX2+FMA: eight values (four
// pairs) at a time, masked loads and stores for the last pairs of a row.
//
//go:noescape
func ropeRotateAVX2(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int)

// ropeRotateAVX512 is ropeRotateGeneric with AVX-512: sixteen values at a
// time, a k-mask for the last pairs of a row.
//
//go:noescape
func ropeRotateAVX512(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int)
