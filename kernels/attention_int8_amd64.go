//go:build gc && !purego

package kernels

func init() {
	register("attention-int8", func(l Level) {
		attnI8Dot, attnI8Exp = nil, softmaxExpU8Go
		if l == AVX512 && HasVNNI() {
			attnI8Dot, attnI8Exp = qdotVNNIF32, softmaxExpU8
		}
	}, AVX512, AMX)
}

// qdotVNNIF32 is qgemmVNNI's 6×64 tile (kg groups of 4 steps of K, a
// unsigned bytes in rows lda bytes apart, b four packed panels ldb bytes
// apart) stored as float32: s[r·lds/4 + c] = float32(acc[r][c] −
// off[c])·scl[c] for r < 6, c < 64 (lds in bytes), added to what s held
// when add is set.
//
//go:noescape
func qdotVNNIF32(kg int, a *uint8, lda int, b *int8, ldb int, off *int32, scl *float32, s *float32, lds int, add bool)

// softmaxExpU8 is softmaxExpU8Go on softmaxExpU8AVX512.
func softmaxExpU8(dst []uint8, src, bias []float32, scale, shift float32) (sumq, sum float32) {
	if len(dst) < roundUp(len(src), 16) || len(bias) > 0 && len(bias) < len(src) {
		panic("kernels: softmaxExpU8: short dst or bias")
	}
	return softmaxExpU8AVX512(dst, src, bias, scale, shift)
}

// softmaxExpU8AVX512 is softmaxExpU8Go for len(src) < 65536 (the byte
// sum stays exact in float32).
//
//go:noescape
func softmaxExpU8AVX512(dst []uint8, src, bias []float32, scale, shift float32) (sumq, sum float32)
