//go:build gc && !purego

package kernels

var (
	// 4×16 (one panel): 16 q accumulators; SDOT by element.
	qSDOT = qMicro{mr: 4, nr: qPanel, kernel: qgemmSDOT, quantRow: quantRowGo, dequant: dequantGo}
	// 4×16 (one panel) on ARMv8.0 without the dot product (Raspberry Pi 3
	// and 4): the same 16 accumulators; SMULL/SMULL2 + ADDP + SADALP.
	qNEON = qMicro{mr: 4, nr: qPanel, kernel: qgemmNEON, quantRow: quantRowGo, dequant: dequantGo}
)

func init() {
	register("qgemm", func(l Level) {
		switch {
		case l == NEON && HasDotProd():
			qLevel = &qSDOT
		case l == NEON:
			qLevel = &qNEON
		default:
			qLevel = &qGeneric
		}
	}, NEON)
}

// qgemmSDOT is qKernelGo for a 4×16 tile with SDOT: per group of 4 steps
// of K, each row's 4 activation bytes (0…127, so the same as signed) dot
// the panel's 4 vectors of 4 columns × 4 signed weights.
//
//go:noescape
func qgemmSDOT(kg int, a *uint8, lda int, b *int8, ldb int, t *int32)

// qgemmNEON is qKernelGo for a 4×16 tile with plain Advanced SIMD (no dot
// product): per group of 4 steps of K, SMULL/SMULL2 multiply each row's 4
// broadcast activation bytes by the panel's weights into int16, ADDP adds
// pairs (exact: |pair| ≤ 2·127·128 < 2¹⁵), SADALP adds the pairs of pairs
// into the int32 accumulators.
//
//go:noescape
func qgemmNEON(kg int, a *uint8, lda int, b *int8, ldb int, t *int32)
