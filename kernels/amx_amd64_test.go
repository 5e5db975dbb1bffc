//go:build gc && !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
)

func skipNoAMX(t *testing.T) {
	t.Helper()
	if err := CheckLevel(AMX); err != nil {
		t.Skip(err)
	}
}

// amxShapes are the block shapes the AMX kernels are tested on: 16-row
// tails and 32-row tiles, one to several column pairs, K steps 0…3.
var amxShapes = func() (s [][3]int) {
	for _, rows := range []int{16, 32, 48, 80} {
		for _, cols := range []int{32, 64, 128} {
			for _, kb := range []int{0, 1, 3} {
				s = append(s, [3]int{rows, cols, kb})
			}
		}
	}
	return s
}()

// guardMark fills the bands around a block kernel's output and its row
// padding: a value the kernels never write there.
const guardMark = 0x5eadbeef

// TestAMXDotU8: the block kernel gives the exact sums of qKernelGo's
// definition on every block shape, writes only its rows × cols (row
// padding of t and bands around it stay untouched), and reads no byte of
// B past the panels it was given.
func TestAMXDotU8(t *testing.T) {
	skipNoAMX(t)
	rng := rand.New(rand.NewPCG(61, 62))
	for _, s := range amxShapes {
		rows, cols, kb := s[0], s[1], s[2]
		k := 64 * kb
		lda := k + 64 // rows of A one line apart from the next block's
		a := make([]uint8, rows*lda)
		for i := range a {
			a[i] = uint8(rng.IntN(128))
		}
		// B: cols columns quantized and packed, cut to the panels the
		// call reads (pfLast is its last byte).
		w := make([]float32, cols*k)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		var data []int8
		panelLen := k * qPanel
		if k > 0 {
			qb := QuantizeB(true, k, cols, w, k)
			data = qb.data[:cols/qPanel*panelLen]
		} else {
			data = make([]int8, 1)
		}
		const band = 37
		ld := cols + 5
		buf := make([]int32, band+rows*ld+band)
		for i := range buf {
			buf[i] = guardMark
		}
		tile := buf[band : band+rows*ld]
		var ap *uint8
		if len(a) > 0 {
			ap = &a[0]
		}
		amxDotU8(kb, ap, lda, &data[0], panelLen, &tile[0], 4*ld, rows, cols, &data[0], 1, &data[len(data)-1])
		name := fmt.Sprintf("rows=%d cols=%d kb=%d", rows, cols, kb)
		for i, v := range buf {
			r, j := (i-band)/ld, (i-band)%ld
			if i < band || i >= band+rows*ld || j >= cols {
				if v != guardMark {
					t.Fatalf("%s: wrote %d outside its block (buffer index %d)", name, v, i)
				}
				continue
			}
			var want int32
			for p := 0; p < k; p++ {
				want += int32(a[r*lda+p]) * int32(data[j/qPanel*panelLen+p/4*qPanel*4+j%qPanel*4+p%4])
			}
			if v != want {
				t.Fatalf("%s: t[%d][%d] = %d, want %d", name, r, j, v, want)
			}
		}
	}
}

// TestAMXDotBF16: the block kernel agrees with bdotTileGo's float32 pair
// sums within the rounding of one float32 addition per pair, writes only
// its block.
func TestAMXDotBF16(t *testing.T) {
	skipNoAMX(t)
	rng := rand.New(rand.NewPCG(63, 64))
	for _, s := range amxShapes {
		rows, cols, kb := s[0], s[1], s[2]
		k := 32 * kb
		lda := k + 32
		a := make([]uint16, rows*lda)
		for i := range a {
			a[i] = ToBF16(float32(rng.NormFloat64()))
		}
		var data []uint16
		panelLen := k * qPanel
		if k > 0 {
			w := make([]float32, cols*k)
			for i := range w {
				w[i] = float32(rng.NormFloat64())
			}
			data = NewBF16B(k, cols, w, k).data[:cols/qPanel*panelLen]
		} else {
			data = make([]uint16, 1)
		}
		const band = 37
		ld := cols + 3
		buf := make([]float32, band+rows*ld+band)
		mark := math.Float32frombits(guardMark)
		for i := range buf {
			buf[i] = mark
		}
		tile := buf[band : band+rows*ld]
		amxDotBF16(kb, &a[0], 2*lda, &data[0], 2*panelLen, &tile[0], 4*ld, rows, cols, &data[0], 1, &data[len(data)-1])
		name := fmt.Sprintf("rows=%d cols=%d kb=%d", rows, cols, kb)
		var want []float32
		if k > 0 {
			want = make([]float32, rows*cols)
			bdotTileGo(rows, cols, k/2, a, lda, data, panelLen, want)
		}
		for i, v := range buf {
			r, j := (i-band)/ld, (i-band)%ld
			if i < band || i >= band+rows*ld || j >= cols {
				if math.Float32bits(v) != guardMark {
					t.Fatalf("%s: wrote %v outside its block (buffer index %d)", name, v, i)
				}
				continue
			}
			var w, mag float64
			if k > 0 {
				w = float64(want[r*cols+j])
			}
			for p := 0; p < k; p++ {
				mag += math.Abs(float64(FromBF16(a[r*lda+p])) * float64(FromBF16(data[j/qPanel*panelLen+p/2*qPanel*2+j%qPanel*2+p%2])))
			}
			// Both sum the same exact products in the same order of
			// pairs; they may round each step differently: at most
			// k/2 roundings of 2⁻²⁴ of the running magnitude each.
			if d := math.Abs(float64(v) - w); d > mag*float64(k)/(1<<24)+1e-30 {
				t.Fatalf("%s: t[%d][%d] = %v, pair-sum spec %v (error %g)", name, r, j, v, w, d)
			}
		}
	}
}

// TestAMXNextInBounds: every prefetch stream the AMX drivers set up starts
// inside the packed B and, over the call's K steps, covers the next
// block's panels (so the hint is neither wasted nor outside B).
func TestAMXNextInBounds(t *testing.T) {
	for _, sh := range [][3]int{{197, 768, 768}, {577, 3072, 768}, {16, 64, 64}, {300, 2304, 3072}, {5, 17, 3}} {
		m, n, k := sh[0], sh[1], sh[2]
		for _, threads := range []int{1, 2, 3} {
			qb := NewQuantB(k, n, make([]int8, n*k), make([]float32, n))
			kp := qb.kp
			panelLen := kp * qPanel
			mc, rowBlocks, chunk, colChunks := planAMX(threads, m, n)
			lo := uintptr(unsafe.Pointer(&qb.data[0]))
			hi := lo + uintptr(len(qb.data))
			for rb := 0; rb < rowBlocks; rb++ {
				rows := roundUp(min((rb+1)*mc, m)-rb*mc, 16)
				for cc := 0; cc < colChunks; cc++ {
					j0, j1 := cc*chunk, min((cc+1)*chunk, n)
					for j := j0; j < j1; j += qAMXCols {
						cols := roundUp(min(qAMXCols, j1-j), 32)
						pf, pfn := amxNext(qb.data, panelLen, j+cols, j0, j1, rows, cols, kp/qKPad)
						a := uintptr(unsafe.Pointer(pf))
						if a < lo || a >= hi {
							t.Fatalf("m=%d n=%d k=%d threads=%d: pf %d outside B [0, %d)", m, n, k, threads, a-lo, hi-lo)
						}
						next := j + cols
						if next >= j1 {
							next = j0
						}
						want := min(qAMXCols, j1-next) / qPanel * panelLen / 64
						steps := cols / 32 * (rows + 16) / 32 * (kp / qKPad)
						if pfn*steps < want {
							t.Fatalf("m=%d n=%d k=%d threads=%d: %d lines × %d steps do not cover the next %d lines", m, n, k, threads, pfn, steps, want)
						}
					}
				}
			}
		}
	}
}
