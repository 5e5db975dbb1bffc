//go:build gc && !purego

package kernels

func init() {
	register("dwconv", func(l Level) {
		if l == NEON {
			dwconv3x3Row = dwconv3x3RowSplit(4, dwconv3x3RowNEON)
		} else {
			dwconv3x3Row = dwconv3x3RowGeneric
		}
	}, NEON)
}

// dwconv3x3RowNEON is dwconv3x3Channels(dst, rows, weight, bias, w, c, 0,
// c4, residual) with NEON, for c4 a positive multiple of 4 (≤ c): the nine
// tap weights and the bias of four channels stay in registers while the row
// is swept.
//
//go:noescape
func dwconv3x3RowNEON(dst, rows, weight, bias []float32, w, c, c4 int, residual bool)
