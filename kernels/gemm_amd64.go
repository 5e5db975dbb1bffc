//go:build gc && !purego

package kernels

//go:generate go run ./internal/asmgen/gemm
//go:generate go run ./internal/asmgen/attention

// gemmPanel is the column width of a packed B panel: one AVX2 tile, half an
// AVX-512 tile.
const gemmPanel = 16

// Cache blocks, tuned with BenchmarkGemmBlocking (the sweep and its
// numbers are in bench/peers/README.md): long K blocks, because a B
// micro-panel streams from L2 fast enough and C is revisited less; an A
// block that stays in L2. For AVX2 a taller row block, so that the 197-
// and 577-row ViT products split into one or three row blocks rather than
// two or five and each packed B panel feeds more 6-row panels.
var (
	// 6×16: 12 ymm accumulators, 2 for B, 2 for broadcasts.
	gemmAVX2 = gemmMicro{mr: 6, nr: 16, mc: 240, kc: 768, kernel: gemmAVX2Kernels, kernelA: gemmAVX2AKernels, fusedEp: true, pfLines: gemmPfLinesAVX2, packPanel: packPanelAVX, attn: attnAVX2Kernels, attnOut: true, attnMinKeys: 1,
		actTile: [ActSiLU + 1]func(*float32, int, int, int){ActGELU: geluTileAVX2, ActGELUTanh: geluTanhTileAVX2}}
	// 14×32: 28 zmm accumulators, 2 for B, 2 for broadcasts.
	gemmAVX512 = gemmMicro{mr: 14, nr: 32, mc: 168, kc: 768, kernel: gemmAVX512Kernels, kernelA: gemmAVX512AKernels, fusedEp: true, pfLines: gemmPfLinesAVX512, packPanel: packPanelAVX, attn: attnAVX512Kernels, attnOut: true, attnMinKeys: 1,
		actTile: [ActSiLU + 1]func(*float32, int, int, int){ActGELU: geluTileAVX512, ActGELUTanh: geluTanhTileAVX512}}
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
