//go:build !purego

package kernels

func init() {
	register("exp", func(l Level) {
		if l == NEON {
			expImpl = expNEONRows
		} else {
			expImpl = expGeneric
		}
	}, NEON)
}

// expNEONRows runs expNEON, which needs at least four elements.
func expNEONRows(dst, src []float32) {
	if len(src) < 4 {
		expGeneric(dst, src)
		return
	}
	expNEON(dst, src)
}

// expNEON is expGeneric (len(dst) == len(src) ≥ 4) with NEON:
//
//	for i, x := range src {
//		dst[i] = float32(math.Exp(float64(x)))
//	}
//
//go:noescape
func expNEON(dst, src []float32)
