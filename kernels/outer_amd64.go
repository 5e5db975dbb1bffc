//go:build gc && !purego

package kernels

func init() {
	register("outer", func(l Level) {
		if l == AVX2 {
			outerSumImpl = outerSumVecAVX2
		} else {
			outerSumImpl = outerSumGeneric
		}
	}, AVX2)
}

// outerSumAVX2 is outerSumGeneric on na > 0 rows of nb > 0 values.
//
//go:noescape
func outerSumAVX2(dst, a *float32, na int, b *float32, nb int)

func outerSumVecAVX2(dst, a, b []float32) {
	_ = dst[len(a)*len(b)-1]
	outerSumAVX2(&dst[0], &a[0], len(a), &b[0], len(b))
}
