package kernels

// fmaLoops holds, per level with assembly, a loop of iters iterations of
// independent fused multiply-adds on full vector registers; it returns the
// floating-point operations done (2 per lane per FMA). Arch files fill it.
var fmaLoops = map[Level]func(iters int) int64{}

// FMALoop runs iters iterations of a tight loop of independent
// multiply-adds at level l (the widest registers the level uses, enough
// independent chains to cover the FMA latency on every port) and returns
// the floating-point operations it did. Timed, it gives the level's peak
// float32 rate on this CPU: lanes × FMA ports × clock, as a GEMM could
// reach it at best. AMX measures the AVX-512 loop (its float32 products
// run there); generic is scalar Go. It fails for a level this build or CPU
// cannot run, and does nothing for iters ≤ 0.
func FMALoop(l Level, iters int) (int64, error) {
	if err := CheckLevel(l); err != nil && l != Generic {
		return 0, err
	}
	if iters <= 0 {
		return 0, nil
	}
	if l == AMX {
		l = AVX512
	}
	if f := fmaLoops[l]; f != nil {
		return f(iters), nil
	}
	return fmaLoopGeneric(iters), nil
}

// fmaSink keeps the generic loop's result alive.
var fmaSink float32

// fmaLoopGeneric is eight independent scalar multiply-add chains.
func fmaLoopGeneric(iters int) int64 {
	var a0, a1, a2, a3, a4, a5, a6, a7 float32
	m, c := float32(0.5), float32(0.25)
	for range iters {
		a0, a1, a2, a3 = a0*m+c, a1*m+c, a2*m+c, a3*m+c
		a4, a5, a6, a7 = a4*m+c, a5*m+c, a6*m+c, a7*m+c
	}
	fmaSink = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7
	return int64(iters) * 8 * 2
}
