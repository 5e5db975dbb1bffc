//go:build gc && !purego

package kernels

// qBaselineDequant is the dequantise kernel before qDequantAVX512: the
// AVX2 one wherever a vector one ran.
func qBaselineDequant(f func(dst []float32, acc []int32, zero int32, colSum []int32, sa float32, sw []float32, bias, res []float32)) func(dst []float32, acc []int32, zero int32, colSum []int32, sa float32, sw []float32, bias, res []float32) {
	if qLevel == &qGeneric {
		return f
	}
	return dequantAVX2
}
