package kernels

import "fmt"

// DWConv3x3 is a depthwise 3×3 convolution (stride 1) over an h×w×c
// channels-last image, given already zero-padded by one pixel on every side
// as padded, (h+2)×(w+2)×c values:
//
//	dst[y][x][k] = bias[k] + Σ_{i,j<3} weight[(3i+j)·c + k]·padded[y+i][x+j][k]
//	               (+ padded[y+1][x+1][k], the input itself, when residual)
//
// weight is tap-major (9×c: PyTorch's (c,1,3,3) transposed) so that each tap
// is contiguous over channels. dst (h×w×c) must not overlap padded.
func DWConv3x3(dst, padded, weight, bias []float32, h, w, c int, residual bool) {
	if h < 0 || w < 0 || c < 0 {
		panic(fmt.Sprintf("kernels: DWConv3x3: negative size %d×%d×%d", h, w, c))
	}
	// Padded sizes are formed only after the products are known to fit.
	out, in := checkProduct("DWConv3x3", h, w, c), checkProduct("DWConv3x3", h+2, w+2, c)
	if len(dst) != out || len(padded) != in {
		panic(fmt.Sprintf("kernels: DWConv3x3: dst %d, padded %d values; want %d×%d×%d and %d×%d×%d",
			len(dst), len(padded), h, w, c, h+2, w+2, c))
	}
	if len(weight) != checkProduct("DWConv3x3", 9, c) || len(bias) != c {
		panic(fmt.Sprintf("kernels: DWConv3x3: weight %d, bias %d values; want 9×%d and %d", len(weight), len(bias), c, c))
	}
	if len(dst) == 0 {
		return
	}
	for y := 0; y < h; y++ {
		rows := padded[y*(w+2)*c : (y+3)*(w+2)*c]
		dwconv3x3Row(dst[y*w*c:(y+1)*w*c], rows, weight, bias, w, c, residual)
	}
}

// dwconv3x3Row points at the implementation chosen by dispatch: one output
// row from the three padded input rows that cover it.
var dwconv3x3Row = dwconv3x3RowGeneric

// dwconv3x3RowGeneric computes one output row (w×c) from rows, the three
// padded input rows (3×(w+2)×c) around it.
func dwconv3x3RowGeneric(dst, rows, weight, bias []float32, w, c int, residual bool) {
	dwconv3x3Channels(dst, rows, weight, bias, w, c, 0, c, residual)
}

// dwconv3x3RowSplit returns a row function that runs simd over the whole
// groups of lanes channels (cv of the c, a positive multiple of lanes) and
// leaves the last c mod lanes channels to dwconv3x3Channels.
func dwconv3x3RowSplit(lanes int, simd func(dst, rows, weight, bias []float32, w, c, cv int, residual bool)) func(dst, rows, weight, bias []float32, w, c int, residual bool) {
	return func(dst, rows, weight, bias []float32, w, c int, residual bool) {
		cv := c - c%lanes
		if cv > 0 {
			simd(dst, rows, weight, bias, w, c, cv, residual)
		}
		if cv < c {
			dwconv3x3Channels(dst, rows, weight, bias, w, c, cv, c, residual)
		}
	}
}

// dwconv3x3Channels computes channels [k0, k1) of one output row; the
// assembly leaves channel tails to it.
func dwconv3x3Channels(dst, rows, weight, bias []float32, w, c, k0, k1 int, residual bool) {
	stride := (w + 2) * c
	for x := 0; x < w; x++ {
		out := dst[x*c : (x+1)*c]
		for k := k0; k < k1; k++ {
			acc := bias[k]
			for i := 0; i < 3; i++ {
				in := rows[i*stride+x*c:]
				acc += weight[(3*i)*c+k] * in[k]
				acc += weight[(3*i+1)*c+k] * in[c+k]
				acc += weight[(3*i+2)*c+k] * in[2*c+k]
			}
			if residual {
				acc += rows[stride+(x+1)*c+k]
			}
			out[k] = acc
		}
	}
}
