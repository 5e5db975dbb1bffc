//go:build !purego

package kernels

// gemmPanel is the column width of a packed B panel: one NEON tile.
const gemmPanel = 12

// 8×12: 24 q accumulators, 3 for B, 2 for the A values of a K step.
var gemmNEON = gemmMicro{mr: 8, nr: 12, mc: 128, kc: 512, kernel: gemmNEONKernels}

func init() {
	register("gemm", func(l Level) {
		if l == NEON {
			gemmLevel = &gemmNEON
			return
		}
		gemmLevel = &gemmGeneric
	}, NEON)
}
