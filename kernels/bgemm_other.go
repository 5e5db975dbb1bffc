//go:build purego || !gc || !amd64

package kernels

// HasBF16 reports whether GemmBF16 runs on AVX512-BF16 here: never on
// this platform or build (it widens the weights to float32).
func HasBF16() bool { return false }
