//go:build !purego

package kernels

// 4×16 (one panel): 16 q accumulators; SDOT by element.
var qSDOT = qMicro{mr: 4, nr: qPanel, kernel: qgemmSDOT, quantRow: quantRowGo, dequant: dequantGo}

func init() {
	register("qgemm", func(l Level) {
		if l == NEON && HasDotProd() {
			qLevel = &qSDOT
			return
		}
		qLevel = &qGeneric
	}, NEON)
}

// qgemmSDOT is qKernelGo for a 4×16 tile with SDOT: per group of 4 steps
// of K, each row's 4 activation bytes (0…127, so the same as signed) dot
// the panel's 4 vectors of 4 columns × 4 signed weights.
//
//go:noescape
func qgemmSDOT(kg int, a *uint8, lda int, b *int8, ldb int, t *int32)
