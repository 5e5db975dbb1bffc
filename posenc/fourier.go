package posenc

import (
	"math"

	"github.com/anyres/anyres/kernels"
)

// fourierTaps is the Fourier resampling of one axis from in to out samples
// (see Fourier): a dense real out×in operator, applied by the same kernel as
// the interpolation modes.
//
// Zero-padding or truncating the spectrum and inverting it is linear, so it
// is one matrix R. With samples at pixel centres t_n = (n+½)/in and
// u_m = (m+½)/out, and s = u_m − t_n,
//
//	R[m][n] = (1/in)·Σ_k h_k·cos(2πk·s)
//
// over the frequencies k = 0 … ⌊K/2⌋ both sizes share (K = min(in, out)),
// h_0 = 1 and h_k = 2 (the pair ±k) below K/2. An even K has a Nyquist
// bin: upsampling from an even in splits it into halves at ±in/2 (h = 1),
// downsampling to an even out folds both ±out/2 bins into it (h = 2). These
// make R real, the identity at the same size, exact on signals below both
// Nyquist frequencies, and R_down·R_up = I. The 1/in keeps amplitudes.
func fourierTaps(in, out int) *kernels.Taps {
	return kernels.MatrixTaps(in, out, fourierMatrix(in, out))
}

// fourierMatrix returns R above, rounded to float32 (exactly the identity
// when in == out).
func fourierMatrix(in, out int) []float32 {
	r := make([]float32, out*in)
	if in == out {
		for i := range in {
			r[i*in+i] = 1
		}
		return r
	}
	k := min(in, out)
	h := make([]float64, k/2+1)
	for j := range h {
		h[j] = 2
	}
	h[0] = 1
	if k%2 == 0 && in < out {
		h[k/2] = 1 // split the input's Nyquist bin over ±in/2
	}
	for m := range out {
		for n := range in {
			s := (float64(m)+0.5)/float64(out) - (float64(n)+0.5)/float64(in)
			var sum float64
			for j, hj := range h {
				sum += hj * math.Cos(2*math.Pi*float64(j)*s)
			}
			r[m*in+n] = float32(sum / float64(in))
		}
	}
	return r
}
