package kernels

import (
	"fmt"
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
	K, N int // B's shape: K×N
	data []float32
}

// PackB packs op(B) (K×N; B is N×K when transB, as PyTorch's Linear weight
// [out, in] is) for GemmPacked.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	checkMatrix("B", b, transB, k, n, ldb)
	checkProduct("PackB", panelsOf(n), k, gemmPanel)
	p := &PackedB{K: k, N: n, data: make([]float32, packedBLen(k, n))}
	packBPanels(p.data, transB, k, n, b, ldb, 0, panelsOf(n), 0, k)
	return p
}

// checkPacked panics unless pb is a PackedB that PackB made (K and N are
// exported, so a caller could change them, or build one by hand, and hand
// the micro-kernels a shape its data does not hold).
func checkPacked(pb *PackedB) {
	if pb == nil {
		panic("kernels: GemmPacked: nil PackedB")
	}
	if pb.K < 0 || pb.N < 0 {
		panic(fmt.Sprintf("kernels: GemmPacked: PackedB has negative size %d×%d", pb.K, pb.N))
	}
	need, ok := mulSize(panelsOf(pb.N), pb.K)
	if ok {
		need, ok = mulSize(need, gemmPanel)
	}
	if !ok || len(pb.data) != need {
		panic(fmt.Sprintf("kernels: GemmPacked: PackedB holds %d values, not the %d×%d that PackB packs (K or N changed after PackB?)", len(pb.data), pb.K, pb.N))
	}
}

func panelsOf(n int) int         { return (n + gemmPanel - 1) / gemmPanel }
func packedBLen(k, n int) int    { return panelsOf(n) * k * gemmPanel }
func (p *PackedB) panels() int   { return panelsOf(p.N) }
func (p *PackedB) panelLen() int { return p.K * gemmPanel }

// packBPanels writes rows [ka, kb) of panels [q0, qEnd) of op(B) into dst
// (the whole packed array).
func packBPanels(dst []float32, transB bool, k, n int, b []float32, ldb int, q0, qEnd, ka, kb int) {
	const w = gemmPanel
	for q := q0; q < qEnd; q++ {
		j0 := q * w
		cols := min(w, n-j0)
		d := dst[q*k*w : (q+1)*k*w]
		switch {
		case transB && cols == w && gemmLevel != nil && gemmLevel.packPanel != nil && kb > ka:
			// Column j of op(B) is row j of B: rows [ka, kb) of the
			// panel are the A-panel layout of 16 rows of B, which the
			// level's assembly packer transposes 8×8 at a time (the Go
			// loop below ran at a fifth of its speed: 15% of ViT-B/16
			// at 1024², packing K for Q·Kᵀ).
			gemmLevel.packPanel(d[ka*w:], w, w, b, ldb, 1, j0, ka, kb-ka)
		case transB && cols == w:
			// Column j of op(B) is row j of B: transpose in blocks of
			// 64 steps of K so the scattered writes stay in L1.
			for k0 := ka; k0 < kb; k0 += 64 {
				k1 := min(k0+64, kb)
				for jj := 0; jj < w; jj++ {
					src := b[(j0+jj)*ldb+k0 : (j0+jj)*ldb+k1]
					dd := d[k0*w+jj:]
					for kk, v := range src {
						dd[kk*w] = v
					}
				}
			}
		case transB:
			for kk := ka; kk < kb; kk++ {
				row := d[kk*w : kk*w+w]
				for jj := 0; jj < cols; jj++ {
					row[jj] = b[(j0+jj)*ldb+kk]
				}
				clear(row[cols:])
			}
		case cols == w:
			// Whole panels: copy rows of K for every whole panel of the
			// range at once, so B is read in long runs rather than one
			// cache line per row (a page-strided walk the prefetchers
			// cannot follow).
			q1 := q + 1
			for q1 < qEnd && (q1+1)*w <= n {
				q1++
			}
			if kb > ka {
				copyPanelRows(dst[q*k*w+ka*w:], b[ka*ldb+j0:], kb-ka, q1-q, ldb, k*w)
			}
			q = q1 - 1
		default:
			for kk := ka; kk < kb; kk++ {
				row := d[kk*w : kk*w+w]
				copy(row, b[kk*ldb+j0:kk*ldb+j0+cols])
				clear(row[cols:])
			}
		}
	}
}

// lazyB packs the panels of an unpacked op(B) on first use, each K block
// of each group of lazyGroup panels exactly once: the worker that first
// needs it packs it and multiplies it while it is still in cache (as
// OpenBLAS fuses packing with the first product); others wait for it. This
// keeps Sgemm from writing and re-reading a packed copy of all of B before
// the first multiply.
type lazyB struct {
	pb     PackedB
	once   []sync.Once // [K block][group]
	groups int
	kc     int
	transB bool
	b      []float32
	ldb    int
}

// lazyGroup is how many panels lazyB packs at once: reading B in runs of
// 512 bytes per row rather than 64 doubles the packing speed.
const lazyGroup = 8

var lazyBPool freeList[lazyB]

// newLazyB prepares op(B) for a product cut into K blocks of kc.
func newLazyB(transB bool, k, n int, b []float32, ldb, kc int) *lazyB {
	z := lazyBPool.get()
	if z == nil {
		z = &lazyB{}
	}
	need := packedBLen(k, n)
	if cap(z.pb.data) < need {
		z.pb.data = make([]float32, need)
	}
	z.groups = (panelsOf(n) + lazyGroup - 1) / lazyGroup
	units := z.groups * ((k + kc - 1) / kc)
	if cap(z.once) < units {
		z.once = make([]sync.Once, units)
	}
	z.pb.K, z.pb.N, z.pb.data = k, n, z.pb.data[:need]
	z.once = z.once[:units]
	z.kc, z.transB, z.b, z.ldb = kc, transB, b, ldb
	return z
}

// panel makes sure rows [p0, p0+kc) of panel q are packed (p0 a multiple
// of z.kc).
func (z *lazyB) panel(q, p0 int) {
	g := q / lazyGroup
	z.once[p0/z.kc*z.groups+g].Do(func() {
		packBPanels(z.pb.data, z.transB, z.pb.K, z.pb.N, z.b, z.ldb,
			g*lazyGroup, min((g+1)*lazyGroup, panelsOf(z.pb.N)), p0, min(p0+z.kc, z.pb.K))
	})
}

func (z *lazyB) release() {
	z.b = nil
	clear(z.once) // a fresh sync.Once for every unit
	// Pool buffers up to 64 MB; larger ones go to the garbage collector.
	if cap(z.pb.data) <= 1<<24 {
		lazyBPool.put(z)
	}
}

// minTileRows is the fewest rows a register tile should have: below it the
// accumulators (two or three vectors a row) are too few to hide the FMA
// latency, and a 1-row tile runs at a quarter of the FMA rate.
const minTileRows = 4

// tileRows is the height of the register tile that starts with rest rows
// left: mr, except that when the rows after a full tile would be fewer
// than minTileRows, the two last tiles share the rows evenly (14+1 rows
// become 8+7). Every loop over packed A rows walks tiles with it, tile t
// at offset t·mr·kc. A tile's height never changes its values: each
// element is the same chain of FMAs whatever the tile.
func tileRows(mr, rest int) int {
	if mr >= minTileRows && rest > mr && rest < mr+minTileRows {
		return (rest + 1) / 2
	}
	return min(mr, rest)
}

// packA packs rows [i0, i0+rows) and columns [p0, p0+kc) of alpha·op(A)
// into dst as panels of kc×mr, one per register tile (tileRows): row r of
// a tile at offset step·mr + r, the order in which the micro-kernel
// broadcasts them. Rows past a tile's height are left as they were: its
// kernel never uses them.
//
// m is the number of rows of op(A): assembly packers read whole groups of 8
// rows and may use the rows of the next tile when they exist. dst has
// gemmPackSlack floats of room after the last panel.
func packA(mk *gemmMicro, dst []float32, transA bool, a []float32, lda int, alpha float32, m, i0, rows, p0, kc int) {
	mr := mk.mr
	n := 0
	for pi, r := 0, 0; r < rows; pi, r = pi+1, r+n {
		n = tileRows(mr, rows-r)
		r0 := i0 + r
		d := dst[pi*mr*kc : (pi+1)*mr*kc]
		if !transA && mk.packPanel != nil {
			// In assembly, whole groups of 8 rows: all n rows when A has
			// the rows up to the next multiple of 8 (reading rows of the
			// next tile), else the groups that end inside the tile, and
			// the rows after them in Go.
			g := n
			if r0+roundUp(n, 8) > m {
				g = n &^ 7
			}
			if g > 0 {
				mk.packPanel(dst[pi*mr*kc:], mr, g, a, lda, alpha, r0, p0, kc)
			}
			if g < n {
				packRows(d, mr, a, lda, alpha, r0, g, n, p0, kc)
			}
			continue
		}
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
		packRows(d, mr, a, lda, alpha, r0, 0, n, p0, kc)
	}
}

// packRows packs rows [r0+g0, r0+n) of a row-major A into the panel d
// (stride mr). It walks K outermost so the writes are sequential (a
// column-wise scatter over a panel larger than L1 is several times
// slower); the row streams are read in step.
func packRows(d []float32, mr int, a []float32, lda int, alpha float32, r0, g0, n, p0, kc int) {
	src := a[(r0+g0)*lda+p0 : (r0+n-1)*lda+p0+kc]
	for kk := 0; kk < kc; kk++ {
		dd := d[kk*mr+g0 : kk*mr+n]
		for r := range dd {
			dd[r] = alpha * src[r*lda+kk]
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
