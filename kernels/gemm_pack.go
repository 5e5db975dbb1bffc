package kernels

import (
	"sync"
	"unsafe"
)

// PackedB is a right-hand operand (K×N, typically a weight matrix) packed
// once into the layout the micro-kernels read, reusable for any row count M
// and safe for concurrent use.
//
// The layout is ⌈N/gemmPanel⌉ column panels, each K×gemmPanel row-major and
// zero-padded past column N, so one step of K is one contiguous vector load
// per panel. Every kernel level of a build reads the same layout (AVX-512
// tiles span two panels), so a PackedB outlives level switches.
type PackedB struct {
	K, N int
	data []float32
}

// PackB packs op(B) (K×N; B is N×K when transB, as PyTorch's Linear weight
// [out, in] is) for GemmPacked.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	checkMatrix("B", b, transB, k, n, ldb)
	p := &PackedB{K: k, N: n, data: make([]float32, packedBLen(k, n))}
	packBPanels(p.data, transB, k, n, b, ldb, 0, panelsOf(n))
	return p
}

func panelsOf(n int) int         { return (n + gemmPanel - 1) / gemmPanel }
func packedBLen(k, n int) int    { return panelsOf(n) * k * gemmPanel }
func (p *PackedB) panels() int   { return panelsOf(p.N) }
func (p *PackedB) panelLen() int { return p.K * gemmPanel }

// packBPanels writes panels [q0, q1) of op(B) into dst (the whole packed
// array).
func packBPanels(dst []float32, transB bool, k, n int, b []float32, ldb int, q0, q1 int) {
	const w = gemmPanel
	if k == 0 {
		return
	}
	for q := q0; q < q1; q++ {
		d := dst[q*k*w : (q+1)*k*w]
		j0 := q * w
		cols := min(w, n-j0)
		if transB {
			// Column j of op(B) is row j of B: transpose in blocks of
			// 64 steps of K so the scattered writes stay in L1.
			if cols == w {
				for k0 := 0; k0 < k; k0 += 64 {
					k1 := min(k0+64, k)
					for jj := 0; jj < w; jj++ {
						src := b[(j0+jj)*ldb+k0 : (j0+jj)*ldb+k1]
						dd := d[k0*w+jj:]
						for kk, v := range src {
							dd[kk*w] = v
						}
					}
				}
				continue
			}
			for jj := 0; jj < cols; jj++ {
				src := b[(j0+jj)*ldb : (j0+jj)*ldb+k]
				for kk, v := range src {
					d[kk*w+jj] = v
				}
			}
			if cols < w {
				for kk := 0; kk < k; kk++ {
					clear(d[kk*w+cols : kk*w+w])
				}
			}
			continue
		}
		if cols == w {
			for kk := 0; kk < k; kk++ {
				*(*[w]float32)(d[kk*w:]) = *(*[w]float32)(b[kk*ldb+j0:])
			}
			continue
		}
		for kk := 0; kk < k; kk++ {
			row := d[kk*w : kk*w+w]
			copy(row, b[kk*ldb+j0:kk*ldb+j0+cols])
			clear(row[cols:])
		}
	}
}

var packedBPool sync.Pool // *PackedB scratch for Sgemm

// packBPooled packs op(B) into pooled scratch, splitting the panels over
// threads when the operand is large enough to pay for it.
func packBPooled(t Threads, transB bool, k, n int, b []float32, ldb int) *PackedB {
	p, _ := packedBPool.Get().(*PackedB)
	if p == nil {
		p = &PackedB{}
	}
	need := packedBLen(k, n)
	if cap(p.data) < need {
		p.data = make([]float32, need)
	}
	p.K, p.N, p.data = k, n, p.data[:need]
	panels := panelsOf(n)
	nt := min(t.n(), panels)
	if nt <= 1 || need < 1<<16 {
		packBPanels(p.data, transB, k, n, b, ldb, 0, panels)
		return p
	}
	per := (panels + nt - 1) / nt
	parallelFor(nt, nt, func(i int) {
		packBPanels(p.data, transB, k, n, b, ldb, i*per, min(panels, (i+1)*per))
	})
	return p
}

func releasePackedB(p *PackedB) {
	if cap(p.data) <= 1<<24 { // keep at most 64 MB per pooled buffer
		packedBPool.Put(p)
	}
}

// packA packs rows [i0, i0+rows) and columns [p0, p0+kc) of alpha·op(A)
// into dst as ⌈rows/mr⌉ panels of kc×mr (row r of a panel at offset
// step·mr + r), the order in which the micro-kernel broadcasts them. Rows
// past the end of the last panel are left as they were: kernels for a
// partial panel never use them.
//
// m is the number of rows of op(A): assembly packers read whole groups of 8
// rows and may use the rows of the next panel when they exist. dst has
// gemmPackSlack floats of room after the last panel.
func packA(mk *gemmMicro, dst []float32, transA bool, a []float32, lda int, alpha float32, m, i0, rows, p0, kc int) {
	mr := mk.mr
	for pi := 0; pi*mr < rows; pi++ {
		r0 := i0 + pi*mr
		n := min(mr, rows-pi*mr)
		if !transA && mk.packPanel != nil && r0+roundUp(mr, 8) <= m {
			mk.packPanel(dst[pi*mr*kc:], mr, a, lda, alpha, r0, p0, kc)
			continue
		}
		d := dst[pi*mr*kc : (pi+1)*mr*kc]
		if transA {
			// op(A) row i is column i of A: each step of K reads n
			// contiguous values.
			for kk := 0; kk < kc; kk++ {
				src := a[(p0+kk)*lda+r0 : (p0+kk)*lda+r0+n]
				dd := d[kk*mr : kk*mr+n]
				for r, v := range src {
					dd[r] = alpha * v
				}
			}
			continue
		}
		// Walk K outermost so the writes are sequential (a column-wise
		// scatter over a panel larger than L1 is several times slower);
		// the n row streams are read in step.
		src := a[r0*lda+p0 : (r0+n-1)*lda+p0+kc]
		for kk := 0; kk < kc; kk++ {
			dd := d[kk*mr : kk*mr+n]
			for r := range dd {
				dd[r] = alpha * src[r*lda+kk]
			}
		}
	}
}

// gemmPackSlack is the room packers may spill into after a packed A block.
const gemmPackSlack = 16

// overlaps reports whether x and y share memory.
func overlaps(x, y []float32) bool {
	if len(x) == 0 || len(y) == 0 {
		return false
	}
	x0 := uintptr(unsafe.Pointer(&x[0]))
	y0 := uintptr(unsafe.Pointer(&y[0]))
	return x0 < y0+uintptr(len(y))*4 && y0 < x0+uintptr(len(x))*4
}

// sameMatrix reports whether x (stride ldx) and y (stride ldy) are the same
// matrix in memory.
func sameMatrix(x []float32, ldx int, y []float32, ldy int) bool {
	return ldx == ldy && len(x) > 0 && len(y) > 0 && &x[0] == &y[0]
}

// copyMatrix returns a dense copy of the rows×cols matrix s (stride ld).
func copyMatrix(s []float32, rows, cols, ld int) []float32 {
	out := make([]float32, rows*cols)
	for i := 0; i < rows; i++ {
		copy(out[i*cols:(i+1)*cols], s[i*ld:i*ld+cols])
	}
	return out
}
