//go:build gc && !purego

package kernels

func init() {
	register("attention-bf16", func(l Level) {
		attnBF16Dot, attnBF16Convert, attnBF16Add, attnBF16Exp = nil, convertBF16Go, Add, softmaxExpBF16Go
		if l == AMX && HasBF16() {
			attnBF16Dot, attnBF16Convert, attnBF16Add, attnBF16Exp = attnDotAMX, convertBF16AVX512, addAVX2, softmaxExpBF16
		}
	}, AMX)
}

// attnDotAMX is attnBF16Dot on the tile unit (amxDotBF16, no prefetch:
// the attention operands of a block are in L2 already).
func attnDotAMX(kb int, a *uint16, lda int, b *uint16, ldb int, t *float32, ldt int, rows, cols int) {
	amxDotBF16(kb, a, lda, b, ldb, t, ldt, rows, cols, b, 0, b)
}

// softmaxExpBF16 is softmaxExpBF16Go on softmaxExpBF16AVX512.
func softmaxExpBF16(dst []uint16, src, bias []float32, scale, shift float32) float32 {
	if len(dst) < roundUp(len(src), 16) || len(bias) > 0 && len(bias) < len(src) {
		panic("kernels: softmaxExpBF16: short dst or bias")
	}
	return softmaxExpBF16AVX512(dst, src, bias, scale, shift)
}
