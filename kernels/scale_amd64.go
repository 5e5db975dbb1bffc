//go:build gc && !purego

package kernels

func init() {
	register("scale", func(l Level) {
		if l == AVX2 {
			scaleImpl = scaleVecAVX2
		} else {
			scaleImpl = scaleGeneric
		}
	}, AVX2)
}

// scaleAVX2 is scaleGeneric for n a multiple of 8 (dst may alias src).
//
//go:noescape
func scaleAVX2(dst, src *float32, n int, s float32)

func scaleVecAVX2(dst, src []float32, s float32) {
	n := len(dst)
	src = src[:n]
	n8 := n &^ 7
	if n8 > 0 {
		scaleAVX2(&dst[0], &src[0], n8, s)
	}
	for i := n8; i < n; i++ {
		dst[i] = s * src[i]
	}
}
