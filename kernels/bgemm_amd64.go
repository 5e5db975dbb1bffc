//go:build !purego

package kernels

import "github.com/klauspost/cpuid/v2"

// 6×64 (four panels): 24 zmm accumulators; VDPBF16PS.
var bDot = bMicro{mr: 6, nr: 4 * qPanel, kernel: bgemmDotAVX512, convert: convertBF16AVX512}

// HasBF16 reports whether the CPU has AVX512-BF16: the avx512 level then
// runs GemmBF16 with VDPBF16PS; without it, GemmBF16 widens the weights
// to float32.
func HasBF16() bool { return cpuid.CPU.Supports(cpuid.AVX512BF16) }

func init() {
	register("bgemm", func(l Level) {
		bLevel = nil
		if l == AVX512 && HasBF16() {
			bLevel = &bDot
		}
	}, AVX512)
}

// bgemmDotAVX512 is bdotTileGo(6, 64, ...) with VDPBF16PS (instructions
// the Go assembler lacks are written as BYTE sequences, the instruction in
// a comment).
//
//go:noescape
func bgemmDotAVX512(kpairs int, a *uint16, lda int, b *uint16, ldb int, t *float32)

// bConvertAVX512 is convertBF16Go for n a multiple of 16 (VCVTNEPS2BF16).
//
//go:noescape
func bConvertAVX512(dst *uint16, src *float32, n int)

func convertBF16AVX512(dst []uint16, src []float32) {
	n := len(src)
	n16 := n &^ 15
	if n16 > 0 {
		bConvertAVX512(&dst[0], &src[0], n16)
	}
	convertBF16Go(dst[n16:n], src[n16:])
}
