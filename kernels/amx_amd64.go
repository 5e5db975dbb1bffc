//go:build gc && !purego

package kernels

import "sync"

// The AMX kernels (amx_amd64.s) run the int8 and bfloat16 products on the
// tile unit. Tile state belongs to the OS thread and a goroutine may move
// between threads between two calls, so each assembly function loads the
// tile configuration itself (LDTILECFG) and ends with TILERELEASE: no tile
// state lives across calls. A goroutine does not move during one call
// (assembly has no preemption points), and a signal arriving meanwhile has
// the kernel save and restore the tiles with the rest of the extended state.

// amxDotU8 computes a block of exact int32 sums with TDPBUSD:
// t[r·ldt/4 + j] = Σ_{p < 64·kb} a[r·lda + p]·B(p, j) for r < rows (a
// multiple of 16) and j < cols (a multiple of 32), where a holds unsigned
// bytes and B(p, j) is the signed byte of column j (of the packed panels
// starting at b, ldb bytes apart: a panel holds 16 columns, K in groups of
// 4, 64 bytes per group) at step p. Column pairs of panels (32 columns)
// run outer, 32-row tiles inner (a last 16-row tile when rows%32 = 16),
// each a 2×2 block of 16×16 tiles over K in steps of 64.
//
// While it runs, it prefetches (PREFETCHT1) pfn cache lines per K step
// from pf on, as far as pfLast (the last byte it may touch): the caller
// points pf at the panels its next call reads, which would otherwise wait
// on memory (the hardware prefetcher stops at every 4 KiB page).
//
//go:noescape
func amxDotU8(kb int, a *uint8, lda int, b *int8, ldb int, t *int32, ldt int, rows, cols int, pf *int8, pfn int, pfLast *int8)

// amxDotBF16 is amxDotU8 with TDPBF16PS on bfloat16 operands: a holds
// bfloat16 rows (lda bytes apart), a panel of b holds 16 columns with K in
// pairs (64 bytes per pair), t receives float32 sums over 32·kb steps of K.
// Each TDPBF16PS step adds, per output, the two products of a pair to the
// float32 accumulator (products exact, the sum rounded to nearest even,
// denormals flushed to zero).
//
//go:noescape
func amxDotBF16(kb int, a *uint16, lda int, b *uint16, ldb int, t *float32, ldt int, rows, cols int, pf *uint16, pfn int, pfLast *uint16)

// xgetbv0 returns the low half of XCR0, the state components the OS
// saves and restores (bits 17 and 18: AMX tile configuration and data).
func xgetbv0() uint32

var amxOnce struct {
	sync.Once
	why string
}

// amxOSMissing says what keeps this process from using AMX tiles although
// the CPU has them ("" when nothing does). The first call asks Linux for
// permission to use tile data; the answer is kept.
func amxOSMissing() string {
	amxOnce.Do(func() {
		if xgetbv0()&(3<<17) != 3<<17 {
			amxOnce.why = "AMX tile state enabled by the OS (XCR0 bits 17-18)"
			return
		}
		amxOnce.why = amxPermit()
	})
	return amxOnce.why
}
