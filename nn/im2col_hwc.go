package nn

import "github.com/anyres/anyres/posenc"

// Convolutions over a channels-last token grid (the rows of a token matrix
// are its pixels) run as im2col + the packed GEMM: Im2ColHWC unfolds the
// patches, KernelHWC orders a PyTorch kernel to match, and
// kernels.GemmPacked multiplies (SAM's 3×3 neck convolution).

// Im2ColHWC writes output positions [lo, hi) of a stride-1 k×k convolution
// over the channels-last grid src (g.H×g.W rows of c values), zero-padded
// by pad on every side, one position per row of k·k·c values in
// [ky][kx][channel] order. The output grid is
// (g.H+2·pad−k+1)×(g.W+2·pad−k+1), positions row-major.
func Im2ColHWC(dst, src []float32, g posenc.Grid, c, k, pad, lo, hi int) {
	ow := g.W + 2*pad - k + 1
	kc := k * k * c
	for i := lo; i < hi; i++ {
		row := dst[(i-lo)*kc : (i-lo+1)*kc]
		y0, x0 := i/ow-pad, i%ow-pad
		for ky := 0; ky < k; ky++ {
			out := row[ky*k*c : (ky+1)*k*c]
			y := y0 + ky
			if y < 0 || y >= g.H {
				clear(out)
				continue
			}
			// The taps inside the grid are one contiguous run of pixels.
			a := min(k, max(0, -x0))
			b := max(a, min(k, g.W-x0))
			clear(out[:a*c])
			if a < b {
				copy(out[a*c:b*c], src[(y*g.W+x0+a)*c:(y*g.W+x0+b)*c])
			}
			clear(out[b*c:])
		}
	}
}

// KernelHWC reorders a PyTorch convolution kernel [out, in, kh, kw] to
// [out, kh, kw, in], the column order of Im2ColHWC.
func KernelHWC(w []float32, out, in, kh, kw int) []float32 {
	r := make([]float32, len(w))
	n := in * kh * kw
	for o := 0; o < out; o++ {
		for c := 0; c < in; c++ {
			for y := 0; y < kh; y++ {
				for x := 0; x < kw; x++ {
					r[o*n+(y*kw+x)*in+c] = w[o*n+(c*kh+y)*kw+x]
				}
			}
		}
	}
	return r
}
