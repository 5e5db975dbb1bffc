package kernels

import "fmt"

// RopeRotateHalf is RopeRotate in timm's half-rotation layout
// (apply_rot_embed_cat with half=True, rotate_half; DINOv3): value i of a
// head turns with value i+headDim/2 by angle i, so token t's sin and cos
// rows hold headDim/2 values each (at sin[t·headDim/2:]; timm's tables
// repeat them twice, tile(2)):
//
//	x = x·cos + rot(x)·sin,  rot([x1 | x2]) = [-x2 | x1]
//
// x holds tokens rows of heads·headDim values, row t at x[t·ld]
// (ld ≥ heads·headDim; values between rows are not touched). headDim must
// be even. AVX2, AVX-512 and NEON run eight, sixteen or four pairs at a
// time (the second product fused, as RopeRotate's kernels do).
func RopeRotateHalf(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int) {
	if tokens < 0 || heads < 0 || headDim < 0 || headDim%2 != 0 {
		panic(fmt.Sprintf("kernels: RopeRotateHalf: bad shape %d tokens × %d heads × %d (headDim must be even)", tokens, heads, headDim))
	}
	width := checkProduct("RopeRotateHalf", heads, headDim)
	if ld < width {
		panic(fmt.Sprintf("kernels: RopeRotateHalf: row stride %d < %d·%d", ld, heads, headDim))
	}
	half := headDim / 2
	if !sameProduct(len(sin), tokens, half) || !sameProduct(len(cos), tokens, half) {
		panic(fmt.Sprintf("kernels: RopeRotateHalf: sin/cos have %d/%d values, want %d·%d", len(sin), len(cos), tokens, half))
	}
	if tokens == 0 || width == 0 {
		return
	}
	if !holdsRows(len(x), tokens, width, ld) {
		panic(fmt.Sprintf("kernels: RopeRotateHalf: x has %d values, need %s for %d rows of %d with stride %d", len(x), needRows(tokens, width, ld), tokens, width, ld))
	}
	ropeRotateHalf(x, ld, sin, cos, tokens, heads, headDim)
}

// ropeRotateHalf points at the implementation chosen by dispatch.
var ropeRotateHalf = ropeRotateHalfGeneric

func ropeRotateHalfGeneric(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int) {
	half := headDim / 2
	for t := 0; t < tokens; t++ {
		s := sin[t*half : (t+1)*half]
		c := cos[t*half : (t+1)*half]
		for h := 0; h < heads; h++ {
			lo := x[t*ld+h*headDim : t*ld+h*headDim+half]
			hi := x[t*ld+h*headDim+half : t*ld+(h+1)*headDim]
			hi = hi[:len(lo)]
			s, c := s[:len(lo)], c[:len(lo)]
			for i, x1 := range lo {
				x2 := hi[i]
				// Each product rounded on its own, as PyTorch computes
				// x·cos + rot(x)·sin (the conversions forbid FMA fusion).
				lo[i] = float32(x1*c[i]) - float32(x2*s[i])
				hi[i] = float32(x2*c[i]) + float32(x1*s[i])
			}
		}
	}
}
