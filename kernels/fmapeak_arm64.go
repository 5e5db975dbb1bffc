//go:build gc && !purego

package kernels

// fmaLoopNEON runs iters iterations of 16 independent FMLA on 4-lane
// registers (fmapeak_arm64.s).
//
//go:noescape
func fmaLoopNEON(iters int)

func init() {
	fmaLoops[NEON] = func(iters int) int64 { fmaLoopNEON(iters); return int64(iters) * 16 * 4 * 2 }
}
