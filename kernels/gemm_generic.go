package kernels

import "unsafe"

// gemmGenericMR is the pure-Go micro-kernel's row count.
const gemmGenericMR = 4

var gemmGeneric = gemmMicro{
	mr: gemmGenericMR, nr: gemmPanel, mc: 64, kc: 256,
	kernel: []func(k int, a, b0, b1, c *float32, ldc, add int){
		func(k int, a, b0, b1, c *float32, ldc, add int) { gemmTileGo(1, k, a, b0, c, ldc, add) },
		func(k int, a, b0, b1, c *float32, ldc, add int) { gemmTileGo(2, k, a, b0, c, ldc, add) },
		func(k int, a, b0, b1, c *float32, ldc, add int) { gemmTileGo(3, k, a, b0, c, ldc, add) },
		func(k int, a, b0, b1, c *float32, ldc, add int) { gemmTileGo(4, k, a, b0, c, ldc, add) },
	},
}

// gemmTileGo is the micro-kernel contract (see gemmMicro) in Go, for
// h ≤ gemmGenericMR rows and one panel of columns.
func gemmTileGo(h, k int, a, b, c *float32, ldc, add int) {
	const mr, nr = gemmGenericMR, gemmPanel
	as := unsafe.Slice(a, k*mr)
	bs := unsafe.Slice(b, k*nr)
	var acc [mr][nr]float32
	for p := 0; p < k; p++ {
		bp := (*[nr]float32)(bs[p*nr:])
		for r := 0; r < h; r++ {
			av := as[p*mr+r]
			s := &acc[r]
			for j, bv := range bp {
				s[j] += av * bv
			}
		}
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
