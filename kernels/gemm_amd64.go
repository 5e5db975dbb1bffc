//go:build gc && !purego

package kernels

//go:generate go run ./internal/asmgen/gemm
//go:generate go run ./internal/asmgen/attention

// gemmPanel is the column width of a packed B panel: one AVX2 tile, half an
// AVX-512 tile.
const gemmPanel = 16

// Cache blocks, tuned on a 2-core Zen 4 (32 KB L1d, 1 MB L2 per core) with
// BenchmarkGemmBlocking: K blocks of 768 beat 128…512 by 5-10% for both
// kernels (a B micro-panel of 768×32 streams from L2 fast enough, and C is
// revisited less); an A block of 168 rows × 768 (~0.5 MB) stays in L2.
// For AVX2 a block of up to 240 rows (≤720 KB) is 5-11% faster than 144 on
// the 197- and 577-row ViT products (one or three row blocks of 198 rather
// than two of 102 or five of 120, so each packed B panel feeds more 6-row
// panels) and within noise on the others; smaller K blocks (256, 384) were
// not faster for the 6×16 kernel.
var (
	// 6×16: 12 ymm accumulators, 2 for B, 2 for broadcasts.
	gemmAVX2 = gemmMicro{mr: 6, nr: 16, mc: 240, kc: 768, kernel: gemmAVX2Kernels, fusedEp: true, pfLines: gemmPfLinesAVX2, packPanel: packPanelAVX, attn: attnAVX2Kernels, attnMinKeys: 1}
	// 14×32: 28 zmm accumulators, 2 for B, 2 for broadcasts.
	gemmAVX512 = gemmMicro{mr: 14, nr: 32, mc: 168, kc: 768, kernel: gemmAVX512Kernels, fusedEp: true, pfLines: gemmPfLinesAVX512, packPanel: packPanelAVX, attn: attnAVX512Kernels, attnMinKeys: 1}
)

func init() {
	register("gemm", func(l Level) {
		switch l {
		case AVX512:
			gemmLevel = &gemmAVX512
		case AVX2:
			gemmLevel = &gemmAVX2
		default:
			gemmLevel = &gemmGeneric
		}
	}, AVX2, AVX512)
}
