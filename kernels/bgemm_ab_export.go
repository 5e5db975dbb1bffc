//go:build anyres_ab

package kernels

// SetBF16WidenAhead switches GemmBF16 below the amx level between
// widening the next tile column's panels in pieces between the current
// one's row tiles (on, the default) and widening each tile just before
// its row tiles, for benchmarks in other packages that compare the two in
// one process (go test -tags anyres_ab); it is not part of normal builds.
func SetBF16WidenAhead(on bool) { bWidenAhead = on }
