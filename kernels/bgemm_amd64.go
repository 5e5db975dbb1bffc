//go:build gc && !purego

package kernels

import "github.com/klauspost/cpuid/v2"

var (
	// 6×64 (four panels): 24 zmm accumulators; VDPBF16PS.
	bDot = bMicro{mr: 6, nr: 4 * qPanel, kernel: bgemmDotAVX512, kernelC: bgemmDotAVX512C, convert: convertBF16AVX512, add: addAVX2}
	// Blocks of 16·i rows × 32·j columns: 2×2 AMX tiles, TDPBF16PS on
	// activations rounded to bfloat16 (VCVTNEPS2BF16).
	bAMX = bMicro{mr: 16, nr: 2 * qPanel, amx: amxDotBF16, convert: convertBF16AVX512, add: addAVX2}
)

// bPreferDot selects VDPBF16PS over widening + FMA where both can run:
// on AMD's cores (Zen 4, Zen 5: the AMD CPUs with AVX512-BF16) a
// VDPBF16PS issues as often as a float32 FMA and does twice its
// multiplies. On the Xeons measured it issued about once every two
// cycles, no faster per multiply than FMA (and it rounds the activations
// to bfloat16 besides), so widening (into tiles for the float32 kernels)
// stays their choice (bench/peers/README.md). The choice depends on the
// CPU alone, so a machine's results do not change from run to run.
var bPreferDot = cpuid.CPU.VendorID == cpuid.AMD

// HasBF16 reports whether the CPU has AVX512-BF16 (VDPBF16PS; see
// bPreferDot for when it is used).
func HasBF16() bool { return cpuid.CPU.Supports(cpuid.AVX512BF16) }

func init() {
	register("bgemm", func(l Level) {
		switch {
		case l >= AVX512:
			bWiden = widenPairsAVX512
		case l == AVX2:
			bWiden = widenPairsAVX2
		default:
			bWiden = widenPairsGo
		}
		switch {
		case l == AMX:
			bLevel = &bAMX
		case l == AVX512 && bPreferDot && HasBF16():
			bLevel = &bDot
		default: // widened tiles on the float32 kernels (GemmBF16)
			bLevel = nil
		}
	}, AVX2, AVX512, AMX)
}

// bgemmDotAVX512 is bdotTileGo(6, 64, ...) with VDPBF16PS (instructions
// the Go assembler lacks are written as BYTE sequences, the instruction in
// a comment).
//
//go:noescape
func bgemmDotAVX512(kpairs int, a *uint16, lda int, b *uint16, ldb int, t *float32)

// bgemmDotAVX512C is bgemmDotAVX512 with the tile stored into C (ldc
// floats apart) as sum + bias[j], plus C's value when addC ≠ 0.
//
//go:noescape
func bgemmDotAVX512C(kpairs int, a *uint16, lda int, b *uint16, ldb int, c *float32, ldc int, bias *float32, addC int)

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

// bWidenAVX512 is widenPairsGo for pairs ≥ 1 pairs (len(dst) = 32·pairs).
//
//go:noescape
func bWidenAVX512(dst *float32, src *uint16, pairs int)

// bWidenAVX2 is bWidenAVX512 on AVX2.
//
//go:noescape
func bWidenAVX2(dst *float32, src *uint16, pairs int)

func widenPairsAVX512(dst []float32, src []uint16) {
	if pairs := len(dst) / (2 * qPanel); pairs > 0 {
		_ = src[pairs*2*qPanel-1] // the assembly reads that far
		bWidenAVX512(&dst[0], &src[0], pairs)
	}
}

func widenPairsAVX2(dst []float32, src []uint16) {
	if pairs := len(dst) / (2 * qPanel); pairs > 0 {
		_ = src[pairs*2*qPanel-1]
		bWidenAVX2(&dst[0], &src[0], pairs)
	}
}
