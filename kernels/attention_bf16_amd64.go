//go:build gc && !purego

package kernels

func init() {
	register("attention-bf16", func(l Level) {
		attnBF16Dot, attnBF16Convert = nil, convertBF16Go
		if l == AMX {
			attnBF16Dot, attnBF16Convert = attnDotAMX, convertBF16AVX512
		}
	}, AMX)
}

// attnDotAMX is attnBF16Dot on the tile unit (amxDotBF16, no prefetch:
// the attention operands of a block are in L2 already).
func attnDotAMX(kb int, a *uint16, lda int, b *uint16, ldb int, t *float32, ldt int, rows, cols int) {
	amxDotBF16(kb, a, lda, b, ldb, t, ldt, rows, cols, b, 0, b)
}
