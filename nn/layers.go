package nn

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
)

// Linear is PyTorch's nn.Linear with its weight packed for
// kernels.GemmPacked: y = x·Wᵀ + b. A reduced-precision Linear
// (linear_dtypes.go) holds Q (int8, kernels.GemmQuant) or H (bfloat16,
// kernels.GemmBF16) instead of W.
type Linear struct {
	W       *kernels.PackedB
	Q       *kernels.QuantB // int8 weight; when set, Apply uses it and W is nil
	H       *kernels.BF16B  // bfloat16 weight; when set, Apply uses it and W is nil
	B       []float32       // nil without bias
	In, Out int
}

// NewLinear packs a PyTorch [out, in] weight. A non-nil gamma is a
// LayerScale that follows the layer (y = γ ⊙ (x·Wᵀ + b)): it is folded
// into the weight rows and the bias, so that the GEMM's residual epilogue
// serves LayerScale blocks at no cost.
func NewLinear(weight, bias []float32, out, in int, gamma []float32) Linear {
	if gamma != nil {
		w := make([]float32, len(weight))
		for o := 0; o < out; o++ {
			for i := 0; i < in; i++ {
				w[o*in+i] = weight[o*in+i] * gamma[o]
			}
		}
		weight = w
		if bias != nil {
			b := make([]float32, out)
			for o := range b {
				b[o] = bias[o] * gamma[o]
			}
			bias = b
		}
	}
	return Linear{W: kernels.PackB(true, in, out, weight, in), B: bias, In: in, Out: out}
}

// Apply computes dst = act(src·Wᵀ + b) (+ residual) for rows rows; src has
// row stride lds, dst ldd. residual may be dst itself (with stride ldd).
func (l *Linear) Apply(t kernels.Threads, rows int, src []float32, lds int, dst []float32, ldd int, act kernels.Activation, residual []float32) {
	ep := kernels.Epilogue{Bias: l.B, Act: act}
	if residual != nil {
		ep.Residual, ep.LDR = residual, ldd
	}
	if l.Q != nil {
		kernels.GemmQuant(t, rows, src, lds, l.Q, dst, ldd, ep)
		return
	}
	if l.H != nil {
		kernels.GemmBF16(t, rows, src, lds, l.H, dst, ldd, ep)
		return
	}
	kernels.GemmPacked(t, rows, src, lds, l.W, dst, ldd, ep)
}

// LayerNorm is PyTorch's nn.LayerNorm over the last dimension.
type LayerNorm struct {
	W, B []float32
	Eps  float32
	Name string // timm name (e.g. "blocks.3.norm1"), for messages and OnSmooth
	// Range is the largest |normalised value| of each channel seen by
	// calibration (prefix.RangeSuffix in a calibrated checkpoint), which
	// sizes the smoothing of the int8 layers the norm feeds (smooth.go);
	// nil when not calibrated.
	Range []float32
	// Smoothed holds the factors `anyres quantize` applied to the norm
	// and its readers (prefix.SmoothedSuffix): the rewrite is done, and an
	// int8 load only folds β (the factors of α < 1 depend on the weights,
	// which the int8 file holds rounded). nil when not smoothed.
	Smoothed []float32
	// Zero is set when an int8 layer took the norm's affine part
	// (Linears.BuildAfter): the input that the rewritten layer reads as
	// the original layer's zero row (−β_j/s_j). A family that feeds such
	// a layer zero rows besides norm outputs (Swin's padded windows)
	// copies Zero there instead; nil means zeros.
	Zero []float32
	// observe, when set (Calibration), is shown every output of Rows
	// and Row.
	observe func(rows []float32)
}

// NewLayerNorm reads prefix.weight and prefix.bias of width d.
// A calibrated checkpoint's prefix+RangeSuffix is read too.
func NewLayerNorm(w *Weights, prefix string, d int, eps float64) *LayerNorm {
	return &LayerNorm{W: w.Get(prefix+".weight", d), B: w.Get(prefix+".bias", d), Eps: float32(eps), Name: prefix,
		Range: w.Optional(prefix+RangeSuffix, d), Smoothed: w.Optional(prefix+SmoothedSuffix, d)}
}

// Rows normalises each d-wide row of src into dst (dst may be src).
func (n *LayerNorm) Rows(dst, src []float32) {
	d := len(n.W)
	m := len(src) / d * d
	kernels.LayerNormRows(dst[:m], src[:m], d, n.W, n.B, n.Eps)
	if n.observe != nil {
		n.observe(dst[:m])
	}
}

// Row normalises one row src into dst (d values each).
func (n *LayerNorm) Row(dst, src []float32) {
	kernels.LayerNorm(dst, src, n.W, n.B, n.Eps)
	if n.observe != nil {
		n.observe(dst)
	}
}

// MLP is the transformer's feed-forward layer, x += FC2(act(FC1(in))), in
// its variants: a plain MLP (GELU, tanh GELU, QuickGELU), or gated (timm
// GluMlp / SwiGLU: FC1 gives 2·hidden values, act(first half) ⊙ second
// half), with an optional norm on the hidden layer (SwiGLU's scale_mlp).
type MLP struct {
	FC1, FC2 Linear
	Act      kernels.Activation
	Gated    bool
	Norm     *LayerNorm // on the hidden layer; nil for none
}

// Hidden is the width of the layer FC2 reads.
func (m *MLP) Hidden() int { return m.FC2.In }

// Scratch is the hidden buffer one row needs: FC1's output width (as
// the row stride FC2 reads in place best, kernels.GemmRowStride), and for
// a gated MLP the activated gate besides.
func (m *MLP) Scratch() int {
	if m.Gated {
		return kernels.GemmRowStride(m.FC1.Out) + m.FC2.In
	}
	return kernels.GemmRowStride(m.FC1.Out)
}

// Check reports an MLP whose layers do not chain.
func (m *MLP) Check(d int) error {
	want := m.FC2.In
	if m.Gated {
		want *= 2
	}
	if m.FC1.In != d || m.FC1.Out != want || m.FC2.Out != d {
		return fmt.Errorf("%w: MLP %d→%d→%d does not chain for width %d (gated %v)", ErrConfig, m.FC1.In, m.FC1.Out, m.FC2.Out, d, m.Gated)
	}
	return nil
}

// Forward adds the MLP of in (rows×d, normalised) to x (rows×d), using hid
// (rows×Scratch()) as scratch.
func (m *MLP) Forward(t kernels.Threads, rows int, in, hid, x []float32) {
	d, h, w := m.FC1.In, m.FC2.In, m.FC1.Out
	ld := kernels.GemmRowStride(w) // hid's row stride
	if !m.Gated {
		hid = hid[:rows*ld]
		m.FC1.Apply(t, rows, in, d, hid, ld, m.Act, nil)
	} else {
		// The gate is activated into its own buffer (act(g)·v as PyTorch
		// rounds it), which keeps the sigmoid activations allocation-free.
		act := hid[rows*ld : rows*(ld+h)]
		hid = hid[:rows*ld]
		m.FC1.Apply(t, rows, in, d, hid, ld, kernels.ActNone, nil)
		for r := 0; r < rows; r++ {
			g, v, a := hid[r*ld:r*ld+h], hid[r*ld+h:r*ld+w], act[r*h:(r+1)*h]
			kernels.Activate(m.Act, a, g)
			for i := range g {
				g[i] = a[i] * v[i]
			}
		}
	}
	if m.Norm != nil {
		for r := 0; r < rows; r++ {
			row := hid[r*ld : r*ld+h]
			kernels.LayerNorm(row, row, m.Norm.W, m.Norm.B, m.Norm.Eps)
		}
	}
	m.FC2.Apply(t, rows, hid, ld, x, d, kernels.ActNone, x)
}

// PatchEmbed is a stride-p convolution over the image (timm PatchEmbed),
// run as a GEMM over unfolded patches.
type PatchEmbed struct {
	Kernel   *kernels.PackedB // [C·ph·pw → dim]
	Bias     []float32        // nil without bias (CLIP)
	Size     [2]int           // the patch size it runs at
	Channels int
	Dim      int
}

// NewPatchEmbed packs a [dim, C, ph, pw] convolution kernel.
func NewPatchEmbed(kernel, bias []float32, dim, channels int, patch [2]int) PatchEmbed {
	k := channels * patch[0] * patch[1]
	return PatchEmbed{Kernel: kernels.PackB(true, k, dim, kernel, k), Bias: bias, Size: patch, Channels: channels, Dim: dim}
}

// ColLen is the scratch Embed needs for n patches.
func (p *PatchEmbed) ColLen(n int) int { return n * p.Channels * p.Size[0] * p.Size[1] }
