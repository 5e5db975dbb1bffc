//go:build purego || !gc || !amd64

package kernels

// copyPanelRows copies whole panels of a row-major B: for each of rows rows
// (ldb apart), panels×gemmPanel floats into panels panels (panelLen apart).
func copyPanelRows(dst, src []float32, rows, panels, ldb, panelLen int) {
	for kk := 0; kk < rows; kk++ {
		for q := 0; q < panels; q++ {
			copy(dst[q*panelLen+kk*gemmPanel:q*panelLen+(kk+1)*gemmPanel], src[kk*ldb+q*gemmPanel:])
		}
	}
}
