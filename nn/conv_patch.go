package nn

// ConvPatch writes the input window of one output position (oy, ox) of a
// strided, zero-padded convolution over the top-left visible[0]×visible[1]
// pixels of img (PyTorch's Conv2d with kernel, stride and padding per
// axis; visible no larger than the image) as one row in the weight's
// [C, kh, kw] order: an im2col row for overlapping patch embeddings
// (Hiera's 7×7 stride-4 stem). Taps outside the visible pixels are zeros.
func ConvPatch(dst []float32, img Image, visible, kernel, stride, pad [2]int, oy, ox int) {
	kh, kw := kernel[0], kernel[1]
	y0, x0 := oy*stride[0]-pad[0], ox*stride[1]-pad[1]
	// the kernel columns that fall inside the visible pixels
	lo, hi := max(0, -x0), min(kw, visible[1]-x0)
	for c := 0; c < img.C; c++ {
		plane := img.Pix[c*img.H*img.W : (c+1)*img.H*img.W]
		for ky := 0; ky < kh; ky++ {
			out := dst[(c*kh+ky)*kw : (c*kh+ky+1)*kw]
			y := y0 + ky
			if y < 0 || y >= visible[0] || lo >= hi {
				clear(out)
				continue
			}
			clear(out[:lo])
			copy(out[lo:hi], plane[y*img.W+x0+lo:y*img.W+x0+hi])
			clear(out[hi:])
		}
	}
}

// ConvOut is the output size of a convolution along one axis: PyTorch's
// ⌊(in + 2·pad − kernel) / stride⌋ + 1 (0 when the kernel does not fit).
func ConvOut(in, kernel, stride, pad int) int {
	if in+2*pad < kernel {
		return 0
	}
	return (in+2*pad-kernel)/stride + 1
}
