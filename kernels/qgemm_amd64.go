//go:build gc && !purego

package kernels

var (
	// 4×16 (one panel): 8 ymm accumulators; VPMADDUBSW + VPMADDWD.
	qAVX2 = qMicro{mr: 4, nr: qPanel, kernel: qgemmAVX2, kernelC: qgemmAVX2C, narrow: qgemmAVX2N, narrowC: qgemmAVX2NC, quantRow: quantRowAVX2, dequant: dequantAVX2, add: addAVX2}
	// qAVX2's micro-kernel with the AVX-512 epilogue (AVX-512 without VNNI).
	qAVX2Z = qMicro{mr: 4, nr: qPanel, kernel: qgemmAVX2, kernelC: qgemmAVX2C, narrow: qgemmAVX2N, narrowC: qgemmAVX2NC, quantRow: quantRowAVX2, dequant: dequantAVX512, add: addAVX2}
	// 6×64 (four panels): 24 zmm accumulators; VPDPBUSD.
	qVNNI = qMicro{mr: 6, nr: 4 * qPanel, kernel: qgemmVNNI, kernelC: qgemmVNNIC, quantRow: quantRowAVX2, dequant: dequantAVX512, add: addAVX2}
	// Blocks of 16·i rows × 32·j columns: 2×2 AMX tiles, TDPBUSD.
	qAMX = qMicro{mr: 16, nr: 2 * qPanel, amx: amxDotU8, quantRow: quantRowAVX2, dequant: dequantAVX512, add: addAVX2}
)

func init() {
	register("qgemm", func(l Level) {
		switch {
		case l == AMX:
			qLevel = &qAMX
		case l == AVX512 && HasVNNI():
			qLevel = &qVNNI
		case l == AVX512:
			qLevel = &qAVX2Z
		case l == AVX2:
			qLevel = &qAVX2
		default:
			qLevel = &qGeneric
		}
	}, AVX2, AVX512, AMX)
}

// qgemmAVX2 is qKernelGo for a 4×16 tile on AVX2: per group of 4 steps of
// K, VPMADDUBSW multiplies the 4 broadcast activation bytes (unsigned,
// ≤ 127) by the panel's signed weights and adds pairs into int16 (exact:
// |pair| ≤ 2·127·128 < 2¹⁵), VPMADDWD by ones adds the pairs into int32,
// VPADDD accumulates.
//
//go:noescape
func qgemmAVX2(kg int, a *uint8, lda int, b *int8, ldb int, t *int32)

// qgemmAVX2C is qgemmAVX2 with the tile dequantised straight into C (ldc
// floats apart) as dequantGo does, plus C's value when addC ≠ 0.
//
//go:noescape
func qgemmAVX2C(kg int, a *uint8, lda int, b *int8, ldb int, c *float32, ldc int, colSum *int32, sw, bias *float32, za *int32, sa *float32, addC int)

// qgemmAVX2N is qgemmAVX2 for a narrow weight (|Bq| ≤ 64) over kg
// pairs of groups: the pair's two VPMADDUBSW results are added in int16
// (exact: |sum| ≤ 4·127·64 < 2¹⁵) before VPMADDWD widens them.
//
//go:noescape
func qgemmAVX2N(kg int, a *uint8, lda int, b *int8, ldb int, t *int32)

// qgemmAVX2NC is qgemmAVX2N storing the tile straight into C as
// qgemmAVX2C does.
//
//go:noescape
func qgemmAVX2NC(kg int, a *uint8, lda int, b *int8, ldb int, c *float32, ldc int, colSum *int32, sw, bias *float32, za *int32, sa *float32, addC int)

// qgemmVNNI is the 6×64 micro-kernel (four panels, ldb bytes apart) on
// AVX-512 VNNI: one VPDPBUSD per row and panel per group of 4 steps of K.
//
//go:noescape
func qgemmVNNI(kg int, a *uint8, lda int, b *int8, ldb int, t *int32)

// qgemmVNNIC is qgemmVNNI with the tile dequantised straight into C
// (ldc floats apart) as dequantGo does, plus C's value when addC ≠ 0.
//
//go:noescape
func qgemmVNNIC(kg int, a *uint8, lda int, b *int8, ldb int, c *float32, ldc int, colSum *int32, sw, bias *float32, za *int32, sa *float32, addC int)

// qMinMaxAVX2 returns the minimum and maximum of x[0:n] and 0 (n a
// multiple of 8), with the same rule as quantRowGo's loop (a NaN is
// skipped).
//
//go:noescape
func qMinMaxAVX2(x *float32, n int) (lo, hi float32)

// qQuantAVX2 is quantRowTail for n a multiple of 32:
// dst[i] = clamp(cvt(x[i]·inv) + zero, 0, 127), cvt rounding half to even.
//
//go:noescape
func qQuantAVX2(dst *uint8, x *float32, n int, inv float32, zero int32)

// qDequantAVX2 is dequantGo for n a multiple of 8; flags bit 0 says bias
// is there, bit 1 res (nil pointers otherwise).
//
//go:noescape
func qDequantAVX2(dst *float32, acc *int32, colSum *int32, sw *float32, bias *float32, res *float32, n int, flags int, zero int32, sa float32)

// qDequantAVX512 is dequantGo for any n ≥ 0 (the tail under a mask);
// flags as qDequantAVX2's.
//
//go:noescape
func qDequantAVX512(dst *float32, acc *int32, colSum *int32, sw *float32, bias *float32, res *float32, n int, flags int, zero int32, sa float32)

func quantRowAVX2(dst []uint8, src []float32) (float32, int32) {
	n := len(src)
	n8 := n &^ 7
	var lo, hi float32
	if n8 > 0 {
		lo, hi = qMinMaxAVX2(&src[0], n8)
	}
	for _, x := range src[n8:] {
		if x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
	}
	scale, inv, zero, ok := quantParams(lo, hi)
	if !ok {
		clear(dst[:n])
		return 0, 0
	}
	n32 := n &^ 31
	if n32 > 0 {
		qQuantAVX2(&dst[0], &src[0], n32, inv, zero)
	}
	quantRowTail(dst[n32:n], src[n32:], inv, zero)
	return scale, zero
}

// dequantFlags checks the row segment's slices against len(dst) (so the
// kernels stay inside them) and returns the optional ones' pointers and
// the kernels' flags.
func dequantFlags(dst []float32, acc, colSum []int32, sw, bias, res []float32) (bp, rp *float32, flags int) {
	n := len(dst)
	_, _, _ = acc[n-1], colSum[n-1], sw[n-1]
	if bias != nil {
		_ = bias[n-1]
		bp, flags = &bias[0], 1
	}
	if res != nil {
		_ = res[n-1]
		rp, flags = &res[0], flags|2
	}
	return bp, rp, flags
}

func dequantAVX2(dst []float32, acc []int32, zero int32, colSum []int32, sa float32, sw []float32, bias, res []float32) {
	n := len(dst)
	n8 := n &^ 7
	if n8 > 0 {
		bp, rp, flags := dequantFlags(dst, acc, colSum, sw, bias, res)
		qDequantAVX2(&dst[0], &acc[0], &colSum[0], &sw[0], bp, rp, n8, flags, zero, sa)
	}
	if n8 < n {
		var bt, rt []float32
		if bias != nil {
			bt = bias[n8:n]
		}
		if res != nil {
			rt = res[n8:n]
		}
		dequantGo(dst[n8:n], acc[n8:n], zero, colSum[n8:n], sa, sw[n8:n], bt, rt)
	}
}

func dequantAVX512(dst []float32, acc []int32, zero int32, colSum []int32, sa float32, sw []float32, bias, res []float32) {
	if len(dst) == 0 {
		return
	}
	bp, rp, flags := dequantFlags(dst, acc, colSum, sw, bias, res)
	qDequantAVX512(&dst[0], &acc[0], &colSum[0], &sw[0], bp, rp, len(dst), flags, zero, sa)
}
