//go:build gc && !purego

package kernels

// gemmPackT8 transposes eight rows of A into packed-panel columns; it
// replaces
//
//	for kk := 0; kk < kc8; kk++ {
//		for r := 0; r < 8; r++ {
//			dst[kk*mr+r] = alpha * src[r*lda+kk]
//		}
//	}
//
// for kc8 a multiple of 8, with AVX2. With mr < 8 a column's store runs
// into the next column's first 8-mr slots (which the next column then
// overwrites); the last one runs up to 8-mr floats past the panel, so
// callers keep that much room after it.
//
//go:noescape
func gemmPackT8(dst *float32, mr int, src *float32, lda, kc8 int, alpha float32)

// packPanelAVX packs rows [r0, r0+rows) (rows ≤ mr) of a row-major A into
// a panel of stride mr (see packA for the layout) with gemmPackT8: groups
// of 8 rows from the last to the first, so each group's spill into the
// next group's slots is overwritten; the rows of a last partial group come
// from the rows after them, which must exist (the caller checks), and land
// in slots past the tile's rows or, past mr, in the next K step's first
// slots (which that step's first group then overwrites); the last step's
// spill runs up to 8-mr floats past the panel, so callers keep that much
// room after it. K steps past the last multiple of 8 are done in Go.
func packPanelAVX(d []float32, mr, rows int, a []float32, lda int, alpha float32, r0, p0, kc int) {
	kc8 := kc &^ 7
	groups := (rows + 7) / 8
	if kc8 > 0 {
		// Bounds for the assembly: the last row read, and room for the
		// spill past the panel.
		_ = a[(r0+8*groups-1)*lda+p0+kc8-1]
		_ = d[(kc8-1)*mr+8*groups-1]
		for g := groups - 1; g >= 0; g-- {
			gemmPackT8(&d[8*g], mr, &a[(r0+8*g)*lda+p0], lda, kc8, alpha)
		}
	}
	for kk := kc8; kk < kc; kk++ {
		dd := d[kk*mr : kk*mr+rows]
		for r := range dd {
			dd[r] = alpha * a[(r0+r)*lda+p0+kk]
		}
	}
}

// gemmCopyPanelRows copies whole 16-wide panels of a row-major B, with AVX;
// it replaces
//
//	for kk := 0; kk < rows; kk++ {
//		for q := 0; q < panels; q++ {
//			copy(dst[q*panelLen+kk*16:][:16], src[kk*ldb+q*16:])
//		}
//	}
//
//go:noescape
func gemmCopyPanelRows(dst, src *float32, rows, panels, ldb, panelLen int)

// copyPanelRows is gemmCopyPanelRows with its bounds checked.
func copyPanelRows(dst, src []float32, rows, panels, ldb, panelLen int) {
	if rows <= 0 || panels <= 0 {
		return
	}
	_ = src[(rows-1)*ldb+panels*gemmPanel-1]
	_ = dst[(panels-1)*panelLen+rows*gemmPanel-1]
	gemmCopyPanelRows(&dst[0], &src[0], rows, panels, ldb, panelLen)
}
