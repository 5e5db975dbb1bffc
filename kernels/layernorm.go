package kernels

import (
	"fmt"
	"math"
)

// LayerNorm sets dst = (src - mean)/sqrt(var + eps)·weight + bias over one
// row, with the biased variance as PyTorch's layer_norm. weight and bias may
// be nil (1 and 0); dst may alias src.
//
// The statistics take two passes, the second one corrected (Chan, Golub and
// LeVeque): mean₀ = Σx/n, then d = x - mean₀ (exact in float32 when x is
// near mean₀), var = Σd²/n - (Σd/n)², and the output is
// (d - Σd/n)·rstd·weight + bias. The mean itself is never rounded to
// float32, so a row with a large mean and a small spread (mean 1e4, std 0.1)
// loses nothing to cancellation; PyTorch, which rounds the mean, is less
// exact there. The generic level computes the statistics in float64.
func LayerNorm(dst, src, weight, bias []float32, eps float32) {
	checkLen("LayerNorm", dst, src)
	checkOptional("LayerNorm weight", weight, len(src))
	checkOptional("LayerNorm bias", bias, len(src))
	if len(src) == 0 {
		return
	}
	layerNormImpl(dst, src, weight, bias, eps, 0)
}

// LayerNormRows applies LayerNorm to every row of a matrix with cols
// columns (len(src) a multiple of cols; dst of src's length, the same slice
// or not overlapping), with one weight and bias (nil or cols long) for all
// rows. On matrices beyond the caches it is faster than a loop of LayerNorm:
// while it works on one row it fetches the next.
func LayerNormRows(dst, src []float32, cols int, weight, bias []float32, eps float32) {
	checkLen("LayerNormRows", dst, src)
	if cols <= 0 || len(src)%cols != 0 {
		panic(fmt.Sprintf("kernels: LayerNormRows: %d values are not rows of %d columns", len(src), cols))
	}
	checkOptional("LayerNormRows weight", weight, cols)
	checkOptional("LayerNormRows bias", bias, cols)
	for lo := 0; lo < len(src); lo += cols {
		ahead := 4 * cols
		if lo+cols == len(src) {
			ahead = 0
		}
		layerNormImpl(dst[lo:lo+cols], src[lo:lo+cols], weight, bias, eps, ahead)
	}
}

// layerNormImpl is LayerNorm at the selected level (weight, bias of length 0
// mean none); ahead (bytes, 0 for none) says where the next row of src and
// dst lies, for the assembly to prefetch.
var layerNormImpl = layerNormGeneric

func layerNormGeneric(dst, src, weight, bias []float32, eps float32, _ int) {
	n := float64(len(src))
	var sum float64
	for _, v := range src {
		sum += float64(v)
	}
	mean := sum / n
	var variance float64
	for _, v := range src {
		d := float64(v) - mean
		variance += d * d
	}
	variance /= n
	rstd := 1 / math.Sqrt(variance+float64(eps))
	for i, v := range src {
		y := float32((float64(v) - mean) * rstd)
		if len(weight) > 0 {
			y *= weight[i]
		}
		if len(bias) > 0 {
			y += bias[i]
		}
		dst[i] = y
	}
}
