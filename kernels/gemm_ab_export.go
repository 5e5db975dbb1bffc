//go:build anyres_ab

package kernels

// directSaved is each level's kernelA while SetGemmDirectA has it off.
var directSaved = map[*gemmMicro][]func(k int, a *float32, lda int, b0, b1, c *float32, ldc, add int, ep *tileEpilogue, pf *float32){}

// SetGemmDirectA switches the active level's GEMM between reading A in
// place (on, the default) and packing it, for benchmarks in other packages
// that compare the two in one process (go test -tags anyres_ab); it is
// not part of normal builds.
func SetGemmDirectA(on bool) {
	mk := gemmLevel
	if mk.kernelA != nil {
		directSaved[mk] = mk.kernelA
	}
	mk.kernelA = nil
	if on {
		mk.kernelA = directSaved[mk]
	}
}
