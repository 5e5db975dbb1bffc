//go:build gc && !purego

package kernels

// gemmPanel is the column width of a packed B panel: one NEON tile.
const gemmPanel = 12

// 8×12: 24 q accumulators, 3 for B, 2 for the A values of a K step. The
// blocks are not tuned on hardware (tests run under qemu): an A block of
// 128×512 (256 KB) and a B micro-panel of 512×12 (24 KB) fit the L2 and L1
// of common Cortex/Neoverse cores.
var gemmNEON = gemmMicro{mr: 8, nr: 12, mc: 128, kc: 512, kernel: gemmNEONKernels, attn: attnNEONKernels}

func init() {
	register("gemm", func(l Level) {
		if l == NEON {
			gemmLevel = &gemmNEON
			return
		}
		gemmLevel = &gemmGeneric
	}, NEON)
}
