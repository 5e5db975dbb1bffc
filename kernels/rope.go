package kernels

import "fmt"

// RopeRotate applies rotary position embedding in place to x: tokens rows
// of heads·headDim values (heads interleaved, as q or k come out of the qkv
// projection), row t starting at x[t·ld] (ld ≥ heads·headDim: q and k may
// sit inside a fused qkv matrix; values between rows are not touched).
// Token t's sin and cos rows
// (headDim values each, at sin[t·headDim:]) apply to every head of t, in
// timm's apply_rot_embed convention (interleaved pairs):
//
//	x = x·cos + rot(x)·sin,  rot([x0 x1 x2 x3 …]) = [-x1 x0 -x3 x2 …]
//
// headDim must be even.
func RopeRotate(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int) {
	if tokens < 0 || heads < 0 || headDim < 0 || headDim%2 != 0 {
		panic(fmt.Sprintf("kernels: RopeRotate: bad shape %d tokens × %d heads × %d (headDim must be even)", tokens, heads, headDim))
	}
	width := checkProduct("RopeRotate", heads, headDim)
	if ld < width {
		panic(fmt.Sprintf("kernels: RopeRotate: row stride %d < %d·%d", ld, heads, headDim))
	}
	// tokens·headDim may not fit an int: a product that wrapped (to 0 at
	// 2^62 tokens of 4) would match an empty sin and let the assembly run.
	if !sameProduct(len(sin), tokens, headDim) || !sameProduct(len(cos), tokens, headDim) {
		panic(fmt.Sprintf("kernels: RopeRotate: sin/cos have %d/%d values, want %d·%d", len(sin), len(cos), tokens, headDim))
	}
	if tokens == 0 || width == 0 {
		return
	}
	if !holdsRows(len(x), tokens, width, ld) {
		panic(fmt.Sprintf("kernels: RopeRotate: x has %d values, need %s for %d rows of %d with stride %d", len(x), needRows(tokens, width, ld), tokens, width, ld))
	}
	ropeRotate(x, ld, sin, cos, tokens, heads, headDim)
}

// ropeRotate points at the implementation chosen by dispatch.
var ropeRotate = ropeRotateGeneric

func ropeRotateGeneric(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int) {
	for t := 0; t < tokens; t++ {
		s := sin[t*headDim : (t+1)*headDim]
		c := cos[t*headDim : (t+1)*headDim]
		for h := 0; h < heads; h++ {
			row := x[t*ld+h*headDim : t*ld+(h+1)*headDim]
			for i := 0; i+1 < len(row); i += 2 {
				x0, x1 := row[i], row[i+1]
				// Each product rounded on its own, as PyTorch computes
				// x·cos + rot(x)·sin (the conversions forbid FMA fusion).
				row[i] = float32(x0*c[i]) - float32(x1*s[i])
				row[i+1] = float32(x1*c[i+1]) + float32(x0*s[i+1])
			}
		}
	}
}
