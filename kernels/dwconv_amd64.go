//go:build gc && !purego

package kernels

func init() {
	register("dwconv", func(l Level) {
		switch l {
		case AVX2:
			dwconv3x3Row = dwconv3x3RowSplit(8, dwconv3x3RowAVX2)
		case AVX512:
			dwconv3x3Row = dwconv3x3RowAVX512
		default:
			dwconv3x3Row = dwconv3x3RowGeneric
		}
	}, AVX2, AVX512)
}

// dwconv3x3RowAVX2 is dwconv3x3Channels(dst, rows, weight, bias, w, c, 0,
// c8, residual) with AVX2+FMA, for c8 a positive multiple of 8 (≤ c): for
// each group of eight channels the nine tap weights and the bias stay in
// registers while the row is swept.
//
//go:noescape
func dwconv3x3RowAVX2(dst, rows, weight, bias []float32, w, c, c8 int, residual bool)

// dwconv3x3RowAVX512 is dwconv3x3RowGeneric with AVX-512: sixteen channels
// at a time (the last group under a mask), the 3×3 neighbourhood sliding
// along the row in registers so that each pixel loads three new vectors
// instead of nine.
//
//go:noescape
func dwconv3x3RowAVX512(dst, rows, weight, bias []float32, w, c int, residual bool)
