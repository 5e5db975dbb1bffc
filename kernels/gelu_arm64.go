//go:build gc && !purego

package kernels

func init() {
	register("gelu", func(l Level) {
		if l == NEON {
			geluImpl, geluTanhImpl = geluNEONRows, geluTanhNEONRows
		} else {
			geluImpl, geluTanhImpl = geluGeneric, geluTanhGeneric
		}
	}, NEON)
}

// The NEON kernels need at least four elements; shorter slices go through
// a 4-lane buffer, so an element's bits never depend on the length of the
// slice it came in (the GEMM epilogue's row segments follow the plan).

func geluNEONRows(dst, src []float32) {
	if len(src) < 4 {
		var buf [4]float32
		copy(buf[:], src)
		geluNEON(buf[:], buf[:])
		copy(dst, buf[:len(src)])
		return
	}
	geluNEON(dst, src)
}

func geluTanhNEONRows(dst, src []float32) {
	if len(src) < 4 {
		var buf [4]float32
		copy(buf[:], src)
		geluTanhNEON(buf[:], buf[:])
		copy(dst, buf[:len(src)])
		return
	}
	geluTanhNEON(dst, src)
}

// geluNEON is geluGeneric (len(dst) == len(src) ≥ 4) with NEON and
// PyTorch's erf (Abramowitz-Stegun 7.1.26):
//
//	for i, x := range src {
//		z := x / √2
//		t := 1 / (1 + 0.3275911·|z|)
//		erf := sign(z)·(1 - t·P(t)·exp(-z²))
//		dst[i] = x/2·(1 + erf)
//	}
//
//go:noescape
func geluNEON(dst, src []float32)

// geluTanhNEON is geluTanhGeneric (len(dst) == len(src) ≥ 4) with NEON:
//
//	for i, x := range src {
//		dst[i] = x / (1 + exp(-2·√(2/π)·(x + 0.044715·x³)))
//	}
//
//go:noescape
func geluTanhNEON(dst, src []float32)
