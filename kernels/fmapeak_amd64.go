//go:build gc && !purego

package kernels

// fmaLoopAVX2 and fmaLoopAVX512 run iters iterations of 12 independent
// VFMADD231PS on ymm and zmm registers (fmapeak_amd64.s).
//
//go:noescape
func fmaLoopAVX2(iters int)

//go:noescape
func fmaLoopAVX512(iters int)

func init() {
	fmaLoops[AVX2] = func(iters int) int64 { fmaLoopAVX2(iters); return int64(iters) * 12 * 8 * 2 }
	fmaLoops[AVX512] = func(iters int) int64 { fmaLoopAVX512(iters); return int64(iters) * 12 * 16 * 2 }
}
