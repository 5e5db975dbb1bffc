//go:build gc && !purego

package kernels

func init() {
	register("normalize", func(l Level) {
		if l == AVX2 {
			normalizeImpl = normalizeVecAVX2
		} else {
			normalizeImpl = normalizeGeneric
		}
	}, AVX2)
}

// normalizeAVX2 is normalizeGeneric on n values in segments of seg, a
// multiple of 8.
//
//go:noescape
func normalizeAVX2(x *float32, n, seg int, eps float32)

func normalizeVecAVX2(x []float32, seg int, eps float32) {
	if seg%8 != 0 {
		normalizeGeneric(x, seg, eps)
		return
	}
	normalizeAVX2(&x[0], len(x), seg, eps)
}
