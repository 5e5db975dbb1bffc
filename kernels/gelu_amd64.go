//go:build gc && !purego

package kernels

func init() {
	register("gelu", func(l Level) {
		switch l {
		case AVX512:
			geluImpl, geluTanhImpl = geluAVX512, geluTanhAVX512
		case AVX2:
			geluImpl, geluTanhImpl = geluAVX2, geluTanhAVX2
		default:
			geluImpl, geluTanhImpl = geluGeneric, geluTanhGeneric
		}
	}, AVX2, AVX512)
}

// geluAVX2 is geluGeneric (len(dst) == len(src) > 0) with AVX2+FMA and
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
func geluAVX2(dst, src []float32)

// geluTanhAVX2 is geluTanhGeneric (len(dst) == len(src) > 0) with AVX2+FMA:
//
//	for i, x := range src {
//		dst[i] = x / (1 + exp(-2·√(2/π)·(x + 0.044715·x³)))
//	}
//
//go:noescape
func geluTanhAVX2(dst, src []float32)

// geluAVX512 is geluAVX2 with AVX-512.
//
//go:noescape
func geluAVX512(dst, src []float32)

// geluTanhAVX512 is geluTanhAVX2 with AVX-512.
//
//go:noescape
func geluTanhAVX512(dst, src []float32)

// geluTileAVX512 sets each of rows rows of cols floats at c (ldc floats
// apart) to geluAVX512 of itself: the GEMM's activation on a tile it has
// just stored, while the tile is in L1. Same bits as geluAVX512.
//
//go:noescape
func geluTileAVX512(c *float32, ldc, rows, cols int)

// geluTanhTileAVX512 is geluTileAVX512 for geluTanhAVX512.
//
//go:noescape
func geluTanhTileAVX512(c *float32, ldc, rows, cols int)

// geluTileAVX2 is geluTileAVX512 for geluAVX2.
//
//go:noescape
func geluTileAVX2(c *float32, ldc, rows, cols int)

// geluTanhTileAVX2 is geluTileAVX512 for geluTanhAVX2.
//
//go:noescape
func geluTanhTileAVX2(c *float32, ldc, rows, cols int)
