//go:build gc && !purego

package kernels

func init() {
	register("add", func(l Level) {
		if l == AVX2 {
			addImpl = addAVX2
		} else {
			addImpl = addGeneric
		}
	}, AVX2)
}

// addAVX2x8 is Add for n a multiple of 8 (dst may alias a or b).
//
//go:noescape
func addAVX2x8(dst, a, b *float32, n int)

// addAVX2 is Add in AVX2: the level's Add (addImpl) and the int8 and
// bfloat16 epilogues' (bias, residual), where after the AMX tiles a scalar
// Go loop adding the bias was a large share of a whole bf16 product.
func addAVX2(dst, a, b []float32) {
	n := len(dst)
	a, b = a[:n], b[:n]
	n8 := n &^ 7
	if n8 > 0 {
		addAVX2x8(&dst[0], &a[0], &b[0], n8)
	}
	for i := n8; i < n; i++ {
		dst[i] = a[i] + b[i]
	}
}
