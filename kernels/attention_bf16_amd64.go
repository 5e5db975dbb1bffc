//go:build gc && !purego

package kernels

import "unsafe"

func init() {
	register("attention-bf16", func(l Level) {
		attnBF16Dot, attnBF16Convert, attnBF16Add, attnBF16Exp = nil, convertBF16Go, Add, softmaxExpBF16Go
		switch {
		case l == AMX && HasBF16():
			attnBF16Dot, attnBF16Convert, attnBF16Add, attnBF16Exp = attnDotAMX, convertBF16AVX512, addAVX2, softmaxExpBF16
		case l == AVX512 && bPreferDot && HasBF16():
			attnBF16Dot, attnBF16Convert, attnBF16Add, attnBF16Exp = attnDotBF16, convertBF16AVX512, addAVX2, softmaxExpBF16
		}
	}, bf16AttnLevels()...)
}

// bf16AttnLevels are the levels with bfloat16 attention on this CPU (what
// `anyres info` lists): amx, and avx512 where VDPBF16PS is preferred.
func bf16AttnLevels() []Level {
	if bPreferDot && HasBF16() {
		return []Level{AVX512, AMX}
	}
	return []Level{AMX}
}

// attnDotBF16 is attnBF16Dot on VDPBF16PS (attnDotBF16AVX512), where
// GemmBF16 uses it too (bPreferDot).
func attnDotBF16(kb int, a *uint16, lda int, b *uint16, ldb int, t *float32, ldt int, rows, cols int) {
	switch {
	case rows <= 0 || cols <= 0:
	case kb <= 0: // no K: the product is zero
		for r := range rows {
			clear(unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(t), r*ldt)), cols))
		}
	default:
		attnDotBF16AVX512(kb, a, lda, b, ldb, t, ldt, rows, cols)
	}
}

// attnDotBF16AVX512 computes t = a·B as attnBF16Dot for rows a multiple
// of 8 and cols a multiple of 32, 8×32 tiles at a time (lda, ldb and ldt
// in bytes).
//
//go:noescape
func attnDotBF16AVX512(kb int, a *uint16, lda int, b *uint16, ldb int, t *float32, ldt int, rows, cols int)

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
