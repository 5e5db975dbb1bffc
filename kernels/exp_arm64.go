//go:build gc && !purego

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

// expNEONRows runs expNEON, which needs at least four elements: shorter
// slices go through a 4-lane buffer, so an element's bits never depend on
// the length of its slice.
func expNEONRows(dst, src []float32) {
	if len(src) < 4 {
		var buf [4]float32
		copy(buf[:], src)
		expNEON(buf[:], buf[:])
		copy(dst, buf[:len(src)])
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
