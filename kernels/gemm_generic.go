package kernels

import "unsafe"

// gemmGenericMR is the pure-Go micro-kernel's row count.
const gemmGenericMR = 4

var gemmGeneric = gemmMicro{
	mr: gemmGenericMR, nr: gemmPanel, mc: 64, kc: 256,
	kernel: []func(k int, a, b0, b1, c *float32, ldc, add int, ep *tileEpilogue, pf *float32){
		func(k int, a, b0, b1, c *float32, ldc, add int, _ *tileEpilogue, _ *float32) {
			gemmTileGo(1, k, a, b0, c, ldc, add)
		},
		func(k int, a, b0, b1, c *float32, ldc, add int, _ *tileEpilogue, _ *float32) {
			gemmTileGo(2, k, a, b0, c, ldc, add)
		},
		func(k int, a, b0, b1, c *float32, ldc, add int, _ *tileEpilogue, _ *float32) {
			gemmTileGo(3, k, a, b0, c, ldc, add)
		},
		func(k int, a, b0, b1, c *float32, ldc, add int, _ *tileEpilogue, _ *float32) {
			gemmTileGo(4, k, a, b0, c, ldc, add)
		},
	},
}

// gemmTileGo is the micro-kernel contract (see gemmMicro) in Go, for
// h ≤ gemmGenericMR rows and one panel of columns. It works through the
// panel four columns at a time so that the 4×4 sums live in registers.
func gemmTileGo(h, k int, a, b, c *float32, ldc, add int) {
	const mr, nr = gemmGenericMR, gemmPanel
	as := unsafe.Slice(a, k*mr)
	bs := unsafe.Slice(b, k*nr)
	var acc [mr][nr]float32
	for j := 0; j < nr; j += 4 {
		var c00, c01, c02, c03, c10, c11, c12, c13 float32
		var c20, c21, c22, c23, c30, c31, c32, c33 float32
		for p := 0; p < k; p++ {
			bp := (*[4]float32)(bs[p*nr+j:])
			ap := (*[mr]float32)(as[p*mr:])
			b0, b1, b2, b3 := bp[0], bp[1], bp[2], bp[3]
			a0, a1, a2, a3 := ap[0], ap[1], ap[2], ap[3]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
		}
		acc[0][j], acc[0][j+1], acc[0][j+2], acc[0][j+3] = c00, c01, c02, c03
		acc[1][j], acc[1][j+1], acc[1][j+2], acc[1][j+3] = c10, c11, c12, c13
		acc[2][j], acc[2][j+1], acc[2][j+2], acc[2][j+3] = c20, c21, c22, c23
		acc[3][j], acc[3][j+1], acc[3][j+2], acc[3][j+3] = c30, c31, c32, c33
	}
	for r := 0; r < h; r++ {
		row := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(c), r*ldc*4)), nr)
		if add == 0 {
			copy(row, acc[r][:])
			continue
		}
		for j := range row {
			row[j] += acc[r][j]
		}
	}
}
