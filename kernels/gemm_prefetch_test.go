package kernels

import (
	"testing"
	"unsafe"
)

// TestGemmPrefetchInBounds walks every tile column and K block of many
// plans and checks that the prefetch stream a kernel call gets for it (pf
// and the floats its kernel prefetches from it) lies inside the packed B
// or inside the tile's own panel.
func TestGemmPrefetchInBounds(t *testing.T) {
	for _, mk := range []*gemmMicro{
		{mr: 14, nr: 32, mc: 168, kc: 768, pfLines: 2},
		{mr: 6, nr: 16, mc: 240, kc: 768, pfLines: 1},
		{mr: 14, nr: 32, mc: 168, kc: 256, pfLines: 2},
	} {
		for _, s := range [][3]int{{197, 768, 768}, {1, 1, 1}, {5, 17, 3}, {50, 48, 5}, {197, 2304, 768}, {577, 768, 3072}, {30, 40, 1000}, {15, 33, 7}} {
			for _, threads := range []int{1, 2, 3} {
				m, n, k := s[0], s[1], s[2]
				pb := PackB(false, k, n, make([]float32, k*n), n)
				g := &gemmCall{mk: mk, threads: threads, m: m, n: n, k: k, pb: pb}
				p := planGemm(mk, threads, m, n, k)
				lo := uintptr(unsafe.Pointer(&pb.data[0]))
				hi := lo + uintptr(len(pb.data))*4
				calls, hinted := 0, 0
				for rb := 0; rb < p.rowBlocks; rb++ {
					for cc := 0; cc < p.colChunks; cc++ {
						i0, i1 := rb*p.mc, min((rb+1)*p.mc, m)
						j0, j1 := cc*p.chunkCols, min((cc+1)*p.chunkCols, n)
						// Whatever the order of the sweep, a kernel's pf
						// stream is panelsAt of some tile column and K
						// block, at its row tile.
						for p0 := 0; p0 < k; p0 += p.kc {
							kc := min(p.kc, k-p0)
							for j := j0; j < j1; j += mk.nr {
								q := j / gemmPanel
								own := &pb.data[q*pb.panelLen()+p0*gemmPanel]
								next := g.panelsAt(&p, j1, j, p0, kc)
								for i := i0; i < i1; i += mk.mr {
									pf := next.at(mk, (i-i0)/mk.mr, kc, own)
									span := uintptr(kc / 4 * mk.pfLines * 64)
									a := uintptr(unsafe.Pointer(pf))
									calls++
									if pf != own {
										hinted++
									}
									if a < lo || a+span > hi {
										t.Fatalf("m=%d n=%d k=%d threads=%d: pf stream [%d, %d) outside B [0, %d)", m, n, k, threads, a-lo, a+span-lo, hi-lo)
									}
								}
							}
						}
					}
				}
				if threads == 1 && n > mk.nr && k >= 4 && hinted == 0 {
					t.Errorf("m=%d n=%d k=%d threads=%d: none of %d calls prefetches the next panels", m, n, k, threads, calls)
				}
			}
		}
	}
}
