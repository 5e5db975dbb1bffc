//go:build gc && !purego

package kernels

func init() {
	register("attention-int8", func(l Level) {
		attnI8Dot, attnI8Softmax, attnI8MR, attnI8KVMax = nil, softmaxU8BlockGo, 6, 127
		attnI8SymRow, attnI8ScaleRow, attnI8AbsMaxSum = qSymRowGo, qScaleRowGo, absMaxSumGo
		switch {
		case l == AVX512 && HasVNNI():
			attnI8Dot, attnI8Softmax = qdotVNNIF32, softmaxU8On(softmaxU8BlockAVX512)
			attnI8SymRow, attnI8ScaleRow, attnI8AbsMaxSum = qSymRowOn(qSymRowAVX512), qScaleRowOn(qScaleRowAVX512), absMaxSumOn(absMaxSumAVX512)
		case l == AVX2:
			attnI8Dot, attnI8Softmax, attnI8MR, attnI8KVMax = qdotAVX2F32, softmaxU8On(softmaxU8BlockAVX2), 4, 63
			attnI8SymRow, attnI8ScaleRow, attnI8AbsMaxSum = qSymRowOn(qSymRowAVX2), qScaleRowOn(qScaleRowAVX2), absMaxSumOn(absMaxSumAVX2)
		}
	}, AVX2, AVX512, AMX)
}

// qdotVNNIF32 is qgemmVNNI's 6×64 tile (kg groups of 4 steps of K, a
// unsigned bytes in rows lda bytes apart, b four packed panels ldb bytes
// apart) as float32: s[r·lds/4 + c] = float32(acc[r][c] − off[c])·scl[c]
// for r < 6, c < 64 (lds in bytes); with rs (6 row factors) that value
// times rs[r] is added to what s held instead.
//
//go:noescape
func qdotVNNIF32(kg int, a *uint8, lda int, b *int8, ldb int, off *int32, scl *float32, s *float32, lds int, rs *float32)

// qdotAVX2F32 is qdotVNNIF32 for a 4×64 tile on qgemmAVX2's loop: b's
// bytes within ±63, so that VPMADDUBSW's int16 pairs never saturate.
//
//go:noescape
func qdotAVX2F32(kg int, a *uint8, lda int, b *int8, ldb int, off *int32, scl *float32, s *float32, lds int, rs *float32)

// The kernels below take pointers and counts; the On functions make
// softmaxU8BlockGo, qSymRowGo, qScaleRowGo and absMaxSumGo of them (the
// bounds checked once per call).
type (
	softmaxU8Kernel func(p *uint8, ldp int, s *float32, lds int, bias *float32, ldb int, rows, n int, rs, m, mold, bm, sq, sf *float32)
	qSymRowKernel   func(dst *uint8, src *float32, sub *float32, n int, add int, lim float32, pf *float32) (scale float32, sum int32, fsum float32)
	qScaleRowKernel func(dst *int8, src, inv *float32, n int, pf *float32)
	absMaxSumKernel func(m, sum, src *float32, n int, pf *float32)
)

func softmaxU8On(k softmaxU8Kernel) func(p []uint8, ldp int, s []float32, lds int, bias []float32, ldb int, rows, n int, rs, m, mold, bm, sq, sf []float32) {
	return func(p []uint8, ldp int, s []float32, lds int, bias []float32, ldb int, rows, n int, rs, m, mold, bm, sq, sf []float32) {
		if rows == 0 {
			return
		}
		_, _, _, _, _, _ = rs[rows-1], m[rows-1], mold[rows-1], bm[rows-1], sq[rows-1], sf[rows-1]
		_ = p[(rows-1)*ldp+roundUp(n, 16)-1]
		_ = s[(rows-1)*lds+n-1]
		var bp *float32
		if bias != nil {
			_ = bias[(rows-1)*ldb+n-1]
			bp = &bias[0]
		} else {
			ldb = 0
		}
		k(&p[0], ldp, &s[0], 4*lds, bp, 4*ldb, rows, n, &rs[0], &m[0], &mold[0], &bm[0], &sq[0], &sf[0])
	}
}

func qSymRowOn(k qSymRowKernel) func(dst []uint8, src, sub []float32, add int32, lim float32, pf *float32) (scale float32, sum int32, fsum float32) {
	return func(dst []uint8, src, sub []float32, add int32, lim float32, pf *float32) (scale float32, sum int32, fsum float32) {
		n := len(src)
		if n == 0 {
			return 0, 0, 0
		}
		_ = dst[n-1]
		var sp *float32
		if sub != nil {
			_ = sub[n-1]
			sp = &sub[0]
		}
		return k(&dst[0], &src[0], sp, n, int(add), lim, pfOr(pf, &src[0]))
	}
}

func qScaleRowOn(k qScaleRowKernel) func(dst []int8, src, inv []float32, pf *float32) {
	return func(dst []int8, src, inv []float32, pf *float32) {
		n := len(src)
		if n == 0 {
			return
		}
		_, _ = dst[n-1], inv[n-1]
		k(&dst[0], &src[0], &inv[0], n, pfOr(pf, &src[0]))
	}
}

func absMaxSumOn(k absMaxSumKernel) func(m, sum, src []float32, pf *float32) {
	return func(m, sum, src []float32, pf *float32) {
		n := len(src)
		if n == 0 {
			return
		}
		_, _ = m[n-1], sum[n-1]
		k(&m[0], &sum[0], &src[0], n, pfOr(pf, &src[0]))
	}
}

func pfOr(pf, p *float32) *float32 {
	if pf == nil {
		return p
	}
	return pf
}

// softmaxU8BlockAVX512 and softmaxU8BlockAVX2 are softmaxU8BlockGo (n ≥ 1,
// lds and ldb in bytes, ldb 0 without a bias); the AVX2 one's exponentials
// are EXPFAST_AVX2's.
//
//go:noescape
func softmaxU8BlockAVX512(p *uint8, ldp int, s *float32, lds int, bias *float32, ldb int, rows, n int, rs, m, mold, bm, sq, sf *float32)

//go:noescape
func softmaxU8BlockAVX2(p *uint8, ldp int, s *float32, lds int, bias *float32, ldb int, rows, n int, rs, m, mold, bm, sq, sf *float32)

// qSymRowAVX512 and qSymRowAVX2 are qSymRowGo (sub nil: none; lim at most
// 127), prefetching the n floats at pf (a row a later call reads;
// prefetches never fault).
//
//go:noescape
func qSymRowAVX512(dst *uint8, src *float32, sub *float32, n int, add int, lim float32, pf *float32) (scale float32, sum int32, fsum float32)

//go:noescape
func qSymRowAVX2(dst *uint8, src *float32, sub *float32, n int, add int, lim float32, pf *float32) (scale float32, sum int32, fsum float32)

// qScaleRowAVX512 and qScaleRowAVX2 are qScaleRowGo, prefetching as
// qSymRowAVX512.
//
//go:noescape
func qScaleRowAVX512(dst *int8, src, inv *float32, n int, pf *float32)

//go:noescape
func qScaleRowAVX2(dst *int8, src, inv *float32, n int, pf *float32)

// absMaxSumAVX512 and absMaxSumAVX2 are absMaxSumGo (the maximum's NaN
// handling aside: a NaN shows in the sum), prefetching as qSymRowAVX512.
//
//go:noescape
func absMaxSumAVX512(m, sum, src *float32, n int, pf *float32)

//go:noescape
func absMaxSumAVX2(m, sum, src *float32, n int, pf *float32)
