package nn

import (
	"fmt"
	"strings"

	"github.com/anyres/anyres/kernels"
)

// The number formats a model's Linear layers may run in.
const (
	F32  = "f32"  // float32 weights, GemmPacked (the default)
	Int8 = "int8" // dynamic int8 quantization (W8A8), kernels.GemmQuant
	BF16 = "bf16" // bfloat16 weights, kernels.GemmBF16
)

// Precision is the number format of a model's Linear layers. Attention,
// norms, softmax, position encodings, convolutions and the patch embedding
// always run in float32; Precision changes only the Linear layers of the
// blocks, the heads (attention pooling included) and, in pyramids such as
// Swin, the patch merging.
type Precision struct {
	// DType is F32 (or ""), Int8 or BF16.
	DType string
	// KeepF32 names layers kept in float32 (for checkpoints whose
	// activations have outliers a per-row 7-bit code cannot hold): a
	// layer is kept when its timm name (e.g. "blocks.11.mlp.fc2",
	// "head") equals an entry or starts with an entry followed by a dot
	// ("blocks.11" keeps the whole block). A layer anyres stacks from
	// several (EVA's q_proj, k_proj, v_proj) is kept when any is named.
	KeepF32 []string
	// OnSmooth, when set, is told each int8 rewrite of a LayerNorm and
	// the layers reading it (smooth.go): the norm's name, the factors s
	// (gain γ/s into the norm, weight columns ·s) and the timm names of
	// the layers (a convolution's among them). `anyres quantize` writes
	// the rewrite into the checkpoint it makes.
	OnSmooth func(norm string, factors []float64, layers []string)
	// Calibration, when set, measures the norms an int8 load would fold
	// (see Calibration); load the model in float32 to measure.
	Calibration *Calibration
	// ReduceRange, with Int8, quantizes weights to 7 bits (±64, as
	// ONNX Runtime's quantize_dynamic(reduce_range=True) does): narrow
	// weights, whose products run about a fifth faster on the AVX2 int8
	// kernel (kernels.NarrowQuantMax), for a coarser weight grid. The
	// integer sums are the same at every level.
	ReduceRange bool
}

// weightMax is the largest |value| Int8 quantizes a weight to.
func (p Precision) weightMax() int {
	if p.ReduceRange {
		return kernels.NarrowQuantMax
	}
	return 127
}

// ParseDType checks a -dtype / Options.DType value.
func ParseDType(s string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", F32, "fp32", "float32":
		return F32, nil
	case Int8:
		return Int8, nil
	case BF16, "bfloat16":
		return BF16, nil
	}
	return "", fmt.Errorf("%w: dtype %q (want f32, int8 or bf16)", ErrConfig, s)
}

// Check reports a Precision that cannot be built.
func (p Precision) Check() error {
	dt, err := ParseDType(p.DType)
	if err == nil && p.ReduceRange && dt != Int8 {
		err = fmt.Errorf("%w: reduce range with dtype %s: it narrows int8 weights (use it with int8)", ErrConfig, dt)
	}
	return err
}

// keepsAny reports whether a layer made of the named ones stays float32.
func (p Precision) keepsAny(names []string) bool {
	for _, name := range names {
		for _, k := range p.KeepF32 {
			if name == k || strings.HasPrefix(name, k+".") {
				return true
			}
		}
	}
	return false
}

// Linears builds a model's Linear layers in the format its Precision
// asks for: every family builds its block and head Linear layers through
// one (New or Build, with the layer's timm name), so that int8, bf16,
// KeepF32 and the int8 values of a quantized checkpoint mean the same in
// every family. A nil *Linears builds float32 layers.
type Linears struct {
	w *Weights
	p Precision
}

// NewLinears builds layers for weights read through w (which supplies the
// int8 values of an already quantized checkpoint).
func NewLinears(w *Weights, p Precision) *Linears { return &Linears{w: w, p: p} }

// RawLinear is a Linear layer's tensors as read, before packing.
type RawLinear struct {
	// Names are the timm names (without ".weight") of the layers whose
	// weights are stacked, by output rows, into this one: usually one
	// ("blocks.3.attn.qkv"); EVA's separate projections are q_proj,
	// k_proj, v_proj, SwiGLU's first layer fc1_g, fc1_x.
	Names   []string
	W, B    []float32 // [Out, In] and [Out] (nil: no bias)
	Out, In int
	// Smoothed is set when BuildAfter rewrote W and B with a norm's
	// affine part (smooth.go): int8 values stored for the layer in a
	// checkpoint then no longer apply.
	Smoothed bool
}

// New is NewLinear in the requested format, for the layer name (its timm
// name, without ".weight").
func (l *Linears) New(name string, weight, bias []float32, out, in int, gamma []float32) Linear {
	return l.Build(RawLinear{Names: []string{name}, W: weight, B: bias, Out: out, In: in}, gamma)
}

// Build packs r in the requested format; gamma is a LayerScale after the
// layer (NewLinear). The layer stays float32 when KeepF32 names any of
// r.Names. For Int8, weights stored as int8 in the checkpoint (every part,
// and no LayerScale to fold) are packed as stored, so the model has the
// bits of quantizing the float32 file at load time (quantization is per
// output row, so stacked parts keep their rows' values), unless a norm was
// folded into them (r.Smoothed); any other weight is quantized here, per
// output row. A layer with more than
// kernels.MaxQuantK inputs stays float32 under Int8 (its int32 sums could
// overflow). A DType that Precision.Check refuses builds float32: families
// check it before building.
func (l *Linears) Build(r RawLinear, gamma []float32) Linear {
	if l != nil {
		// Every format packs its own copy: the source's pages can go.
		defer l.w.release(r.W)
	}
	weight, bias, out, in := r.W, r.B, r.Out, r.In
	switch l.format(r) {
	case F32:
		return NewLinear(weight, bias, out, in, gamma)
	case BF16:
		return NewLinearBF16(weight, bias, out, in, gamma)
	}
	if gamma == nil && !r.Smoothed {
		if q, scale, ok := l.stored(r.Names, out, in); ok {
			return Linear{Q: kernels.NewQuantB(in, out, q, scale), B: bias, In: in, Out: out}
		}
	}
	return newLinearInt8(weight, bias, out, in, gamma, l.p.weightMax())
}

// format is the number format Build packs r in.
func (l *Linears) format(r RawLinear) string {
	if l == nil {
		return F32
	}
	dt, err := ParseDType(l.p.DType)
	if err != nil || l.p.keepsAny(r.Names) || (dt == Int8 && r.In > kernels.MaxQuantK) {
		return F32
	}
	return dt
}

// BuildAfter is Build for a layer whose input is norm's output, where
// nothing else reads that output: when the layer runs int8, norm's
// affine part is folded into it and its gain split between the two
// (smooth.go), so that the int8 activations carry no outlier channels;
// norm is rewritten in place (new slices). In float32 and bf16, for a
// layer kept float32, and with a nil norm, it is Build and norm is left
// as it is.
func (l *Linears) BuildAfter(norm *LayerNorm, r RawLinear, gamma []float32) Linear {
	return l.BuildAfterShared(norm, r, gamma)
}

// BuildAfterShared is BuildAfter where others read norm's output too
// (Twins' q and kv, or q and the keys' reduction convolution): when r
// runs int8, the others' W and B are rewritten with it (one factor per
// channel for all) and the caller builds them from the rewritten tensors.
// An other with In = k·(norm's width) is a convolution's [out, in, kh,
// kw] weight (k kernel positions per input channel). An other that the
// caller builds as a Linear goes through Build, not BuildAfter again.
func (l *Linears) BuildAfterShared(norm *LayerNorm, r RawLinear, gamma []float32, others ...*RawLinear) Linear {
	if l.format(r) == Int8 {
		// Folding rewrites the weights into new slices (which Build then
		// packs); the source's tensors are read here for the last time.
		defer l.w.release(r.W)
		for _, o := range others {
			defer l.w.release(o.W)
		}
		all := append([]*RawLinear{&r}, others...)
		folded := func(o *RawLinear) []float32 {
			if o.In != r.In { // a convolution, float32
				return nil
			}
			return l.int8Weight(o)
		}
		if s := smoothNorm(norm, all, folded); s != nil && l.p.OnSmooth != nil {
			var names []string
			for _, o := range all {
				names = append(names, o.Names...)
			}
			l.p.OnSmooth(norm.Name, s, names)
		}
	}
	if l != nil && l.p.Calibration != nil {
		// After any rewrite: the normalised values are the same, read
		// through the norm's current gain and bias.
		l.p.Calibration.watch(norm)
	}
	return l.Build(r, gamma)
}

// NewAfter is New for a layer that reads norm's output alone (BuildAfter).
func (l *Linears) NewAfter(norm *LayerNorm, name string, weight, bias []float32, out, in int, gamma []float32) Linear {
	return l.BuildAfter(norm, RawLinear{Names: []string{name}, W: weight, B: bias, Out: out, In: in}, gamma)
}

// int8Weight is r's weight as its int8 layer will hold it, dequantized
// (the stored int8 values, or r.W quantized per row), for a Linear that
// runs int8; nil for any other (a convolution reading the same norm).
func (l *Linears) int8Weight(r *RawLinear) []float32 {
	if len(r.Names) == 0 || l.format(*r) != Int8 || len(r.W) != r.Out*r.In {
		return nil
	}
	q, scale, ok := l.stored(r.Names, r.Out, r.In)
	if !ok || r.Smoothed {
		q, scale = kernels.QuantizeWeightsTo(r.W, r.Out, r.In, r.In, l.p.weightMax())
	}
	w := make([]float32, len(q))
	for o := 0; o < r.Out; o++ {
		for i := 0; i < r.In; i++ {
			w[o*r.In+i] = float32(q[o*r.In+i]) * scale[o]
		}
	}
	return w
}

// stored returns the int8 values and scales of layers names as read from a
// quantized checkpoint, stacked, when every one was stored as int8 and
// together they are out×in.
func (l *Linears) stored(names []string, out, in int) ([]int8, []float32, bool) {
	if l.w == nil || len(names) == 0 {
		return nil, nil, false
	}
	if len(names) == 1 {
		t, ok := l.w.int8s[names[0]+".weight"]
		return t.q, t.scale, ok && len(t.q) == out*in && len(t.scale) == out
	}
	q, scale := make([]int8, 0, out*in), make([]float32, 0, out)
	for _, n := range names {
		t, ok := l.w.int8s[n+".weight"]
		if !ok || len(t.q) != len(t.scale)*in {
			return nil, nil, false
		}
		q, scale = append(q, t.q...), append(scale, t.scale...)
	}
	return q, scale, len(q) == out*in && len(scale) == out
}

// NewLinearInt8 is NewLinear with the weight quantized to int8 per output
// row (kernels.QuantizeB); the float32 weight is not kept.
func NewLinearInt8(weight, bias []float32, out, in int, gamma []float32) Linear {
	return newLinearInt8(weight, bias, out, in, gamma, 127)
}

// newLinearInt8 is NewLinearInt8 with the weight quantized onto ±qmax.
func newLinearInt8(weight, bias []float32, out, in int, gamma []float32, qmax int) Linear {
	weight, bias = foldGamma(weight, bias, out, in, gamma)
	q, scale := kernels.QuantizeWeightsTo(weight, out, in, in, qmax)
	return Linear{Q: kernels.NewQuantB(in, out, q, scale), B: bias, In: in, Out: out}
}

// NewLinearBF16 is NewLinear with the weight rounded to bfloat16 (to
// nearest even); the float32 weight is not kept.
func NewLinearBF16(weight, bias []float32, out, in int, gamma []float32) Linear {
	weight, bias = foldGamma(weight, bias, out, in, gamma)
	return Linear{H: kernels.NewBF16B(in, out, weight, in), B: bias, In: in, Out: out}
}

// foldGamma returns the weight and bias with a LayerScale γ folded in (the
// inputs unchanged when gamma is nil).
func foldGamma(weight, bias []float32, out, in int, gamma []float32) ([]float32, []float32) {
	if gamma == nil {
		return weight, bias
	}
	w := make([]float32, len(weight))
	for o := 0; o < out; o++ {
		for i := 0; i < in; i++ {
			w[o*in+i] = weight[o*in+i] * gamma[o]
		}
	}
	if bias != nil {
		b := make([]float32, out)
		for o := range b {
			b[o] = bias[o] * gamma[o]
		}
		bias = b
	}
	return w, bias
}

// Quantized checkpoints (written by `anyres quantize -dtype int8`) store
// each quantized Linear weight NAME (2-D, [out, in]) as an I8 tensor NAME
// with its per-row float32 scales as NAME_scale ([out]): the weight is
// NAME_scale[o]·NAME[o, i]. Weights.Get hands every family the dequantized
// float32 values, so such a file loads in any family and at any dtype;
// Linears packs the stored int8 values unchanged when the model runs int8.

// ScaleSuffix is appended to a quantized weight's name for its scales.
const ScaleSuffix = "_scale"

// RangeSuffix is appended to a LayerNorm's name (e.g. "blocks.3.norm1")
// for the per-channel ranges `anyres quantize -calibrate` measured
// (LayerNorm.Range).
const RangeSuffix = ".anyres_range"

// SmoothedSuffix is appended to a LayerNorm's name for the factors that
// `anyres quantize -dtype int8` applied to it and its readers
// (LayerNorm.Smoothed).
const SmoothedSuffix = ".anyres_smoothed"

type int8Tensor struct {
	q     []int8
	scale []float32
}

// int8Reader is a Source that holds int8 tensors (tensorfile.File).
type int8Reader interface {
	DType(name string) string
	Int8(name string) ([]int8, []int, error)
}

// float32 reads a tensor as float32 values, dequantizing an int8 weight
// with its scales (and remembering the int8 values for Linears).
func (w *Weights) float32(name string) ([]float32, []int, error) {
	r, ok := w.src.(int8Reader)
	if !ok || r.DType(name) != "I8" {
		return w.src.Float32(name)
	}
	q, shape, err := r.Int8(name)
	if err != nil {
		return nil, nil, err
	}
	if len(shape) != 2 {
		return nil, nil, fmt.Errorf("int8 tensor has shape %v; a quantized weight is 2-D [out, in]", shape)
	}
	out, in := shape[0], shape[1]
	sn := name + ScaleSuffix
	w.used[sn] = true
	if !w.src.Has(sn) {
		return nil, nil, fmt.Errorf("int8 weight without its scales %q", sn)
	}
	scale, sshape, err := w.src.Float32(sn)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", sn, err)
	}
	if len(sshape) != 1 || sshape[0] != out || len(scale) != out {
		return nil, nil, fmt.Errorf("scales %q have shape %v, want [%d]", sn, sshape, out)
	}
	v := make([]float32, out*in)
	for o := 0; o < out; o++ {
		s := scale[o]
		if !(s >= 0) || s-s != 0 {
			return nil, nil, fmt.Errorf("scale %d of %q is %g; scales are finite and ≥ 0", o, sn, s)
		}
		for i := 0; i < in; i++ {
			v[o*in+i] = float32(q[o*in+i]) * s
		}
	}
	if w.int8s == nil {
		w.int8s = map[string]int8Tensor{}
	}
	w.int8s[name] = int8Tensor{q: q, scale: scale}
	return v, shape, nil
}
