package kernels

import (
	"fmt"
	"math"
)

// Exp sets dst[i] = e^src[i]. dst and src may be the same slice.
func Exp(dst, src []float32) {
	checkLen("Exp", dst, src)
	for i, x := range src {
		dst[i] = float32(math.Exp(float64(x)))
	}
}

// Softmax replaces row with softmax(scale·row + bias) (bias nil for none,
// else the same length), subtracting the row maximum first. -Inf entries
// get probability 0. A row whose every entry is -Inf has no defined
// distribution; it becomes all zeros.
func Softmax(row []float32, scale float32, bias []float32) {
	if bias != nil {
		checkLen("Softmax bias", row, bias)
	}
	mx := float32(math.Inf(-1))
	for i, v := range row {
		v *= scale
		if bias != nil {
			v += bias[i]
		}
		row[i] = v
		if v > mx {
			mx = v
		}
	}
	if math.IsInf(float64(mx), -1) {
		clear(row)
		return
	}
	var sum float32
	for i, v := range row {
		e := float32(math.Exp(float64(v - mx)))
		row[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range row {
		row[i] *= inv
	}
}

// LayerNorm sets dst = (src - mean)/sqrt(var + eps)·weight + bias over one
// row (biased variance, as PyTorch). weight and bias may be nil.
func LayerNorm(dst, src, weight, bias []float32, eps float32) {
	checkLen("LayerNorm", dst, src)
	n := len(src)
	if n == 0 {
		return
	}
	var mean float64
	for _, v := range src {
		mean += float64(v)
	}
	mean /= float64(n)
	var variance float64
	for _, v := range src {
		d := float64(v) - mean
		variance += d * d
	}
	variance /= float64(n)
	rstd := 1 / math.Sqrt(variance+float64(eps))
	for i, v := range src {
		y := float32((float64(v) - mean) * rstd)
		if weight != nil {
			y *= weight[i]
		}
		if bias != nil {
			y += bias[i]
		}
		dst[i] = y
	}
}

// GELU sets dst = x·Φ(x), the exact (erf) form. dst and src may alias.
func GELU(dst, src []float32) {
	checkLen("GELU", dst, src)
	for i, x := range src {
		dst[i] = float32(0.5 * float64(x) * (1 + math.Erf(float64(x)/math.Sqrt2)))
	}
}

// GELUTanh sets dst to the tanh approximation of GELU.
func GELUTanh(dst, src []float32) {
	checkLen("GELUTanh", dst, src)
	const c = 0.7978845608028654 // sqrt(2/pi)
	for i, x := range src {
		v := float64(x)
		dst[i] = float32(0.5 * v * (1 + math.Tanh(c*(v+0.044715*v*v*v))))
	}
}

// Add sets dst = a + b elementwise. dst may alias a or b.
func Add(dst, a, b []float32) {
	checkLen("Add", dst, a)
	checkLen("Add", dst, b)
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

func checkLen(name string, dst, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels: %s: lengths %d and %d differ", name, len(dst), len(src)))
	}
}
