//go:build !amd64 || !gc || purego

package kernels

// qBaselineDequant: off amd64 the dequantise kernel did not change.
func qBaselineDequant(f func(dst []float32, acc []int32, zero int32, colSum []int32, sa float32, sw []float32, bias, res []float32)) func(dst []float32, acc []int32, zero int32, colSum []int32, sa float32, sw []float32, bias, res []float32) {
	return f
}
