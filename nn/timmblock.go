package nn

import "github.com/anyres/anyres/kernels"

// Readers for the attention and MLP weights of timm's ViT-like blocks in
// the layouts the families share (ViT, BEiT, EVA and its relatives), so
// that no family copies them. They read through Weights (names, shapes,
// accounting) and return the raw tensors; packing waits until every
// tensor of the checkpoint has been checked.

// ReadQKV reads an attention's q, k and v projections under prefix (e.g.
// "blocks.3.attn.") as one [q | k | v] weight (3·d×d, timm's column order)
// and bias, in the layout the checkpoint holds:
//
//   - fused qkv.weight with qkv.bias, or without any bias;
//   - fused qkv.weight with q_bias and v_bias (BEiT, EVA: k has no bias);
//   - separate q_proj, k_proj, v_proj (EVA-02 B/L, timm qkv_fused=False),
//     concatenated; a missing k_proj.bias is zero (EvaAttention has none).
//
// The bias is nil when the projections have none. The layer's Names are
// prefix+"qkv", or the three separate projections.
func ReadQKV(w *Weights, prefix string, d int) RawLinear {
	weight, bias, names := readQKV(w, prefix, d)
	return RawLinear{Names: names, W: weight, B: bias, Out: 3 * d, In: d}
}

func readQKV(w *Weights, prefix string, d int) (weight, bias []float32, names []string) {
	if w.Has(prefix + "qkv.weight") {
		weight = w.Get(prefix+"qkv.weight", 3*d, d)
		switch {
		case w.Has(prefix + "qkv.bias"):
			bias = w.Get(prefix+"qkv.bias", 3*d)
		case w.Has(prefix+"q_bias") || w.Has(prefix+"v_bias"):
			q, v := w.Get(prefix+"q_bias", d), w.Get(prefix+"v_bias", d)
			if w.Err() == nil {
				bias = make([]float32, 3*d)
				copy(bias, q)
				copy(bias[2*d:], v)
			}
		}
		return weight, bias, []string{prefix + "qkv"}
	}
	parts := [3]string{"q_proj", "k_proj", "v_proj"}
	names = []string{prefix + parts[0], prefix + parts[1], prefix + parts[2]}
	weight = make([]float32, 3*d*d)
	for i, p := range parts {
		copy(weight[i*d*d:], w.Get(prefix+p+".weight", d, d))
	}
	withBias := false
	for _, p := range parts {
		withBias = withBias || w.Has(prefix+p+".bias")
	}
	if withBias {
		bias = make([]float32, 3*d)
		for i, p := range parts {
			if p == "k_proj" && !w.Has(prefix+p+".bias") {
				continue // EvaAttention: k has no bias
			}
			copy(bias[i*d:], w.Get(prefix+p+".bias", d))
		}
	}
	if w.Err() != nil {
		return nil, nil, names
	}
	return weight, bias, names
}

// MLPLayout is how a timm MLP's weights are laid out.
type MLPLayout int

const (
	// MLPPlain is timm's Mlp: fc1 (hidden×d), act, optional norm, fc2.
	MLPPlain MLPLayout = iota
	// MLPPacked is timm's GluMlp with gate_last=False (SwiGLUPacked, EVA-02
	// T/S): fc1 gives 2·hidden values, act(first half) · second half.
	MLPPacked
	// MLPSplit is timm's SwiGLU: fc1_g and fc1_x (hidden×d each),
	// act(fc1_g) · fc1_x; EVA-02 B/L with its inner norm (scale_mlp).
	MLPSplit
)

// RawMLP is an MLP's tensors as read, ready to pack with Build.
type RawMLP struct {
	fc1, fc2 RawLinear
	layout   MLPLayout
	act      kernels.Activation
	norm     *LayerNorm
}

// ReadMLP reads an MLP under prefix (e.g. "blocks.3.mlp.") of the given
// layout, width d and hidden width (the width fc2 reads), with biases;
// with norm, the hidden layer's LayerNorm (timm scale_mlp: prefix+"norm").
func ReadMLP(w *Weights, prefix string, layout MLPLayout, d, hidden int, act kernels.Activation, norm bool, eps float64) RawMLP {
	r := RawMLP{layout: layout, act: act}
	r.fc1 = RawLinear{Names: []string{prefix + "fc1"}, Out: hidden, In: d}
	switch layout {
	case MLPSplit:
		r.fc1.Names, r.fc1.Out = []string{prefix + "fc1_g", prefix + "fc1_x"}, 2*hidden
		g, gb := w.Get(prefix+"fc1_g.weight", hidden, d), w.Get(prefix+"fc1_g.bias", hidden)
		x, xb := w.Get(prefix+"fc1_x.weight", hidden, d), w.Get(prefix+"fc1_x.bias", hidden)
		if w.Err() == nil { // [gate | value], as the packed layout
			r.fc1.W, r.fc1.B = append(append([]float32(nil), g...), x...), append(append([]float32(nil), gb...), xb...)
		}
	case MLPPacked:
		r.fc1.Out = 2 * hidden
		r.fc1.W, r.fc1.B = w.Get(prefix+"fc1.weight", 2*hidden, d), w.Get(prefix+"fc1.bias", 2*hidden)
	default:
		r.fc1.W, r.fc1.B = w.Get(prefix+"fc1.weight", hidden, d), w.Get(prefix+"fc1.bias", hidden)
	}
	if norm {
		r.norm = NewLayerNorm(w, prefix+"norm", hidden, eps)
	}
	r.fc2 = RawLinear{Names: []string{prefix + "fc2"}, W: w.Get(prefix+"fc2.weight", d, hidden), B: w.Get(prefix+"fc2.bias", d), Out: d, In: hidden}
	return r
}

// Build packs the MLP in lin's format (nil: float32); a non-nil gamma is
// the block's LayerScale after it, folded into fc2.
// The hidden norm's output feeds fc2 alone, so an int8 fc2 takes it
// folded in (Linears.BuildAfter).
func (r *RawMLP) Build(lin *Linears, gamma []float32) MLP {
	return r.BuildAfter(lin, nil, gamma)
}

// BuildAfter is Build for an MLP whose input is norm's output alone (a
// block's norm2): an int8 fc1 takes norm folded in (Linears.BuildAfter).
// A nil norm is Build.
func (r *RawMLP) BuildAfter(lin *Linears, norm *LayerNorm, gamma []float32) MLP {
	// BuildAfter with a nil norm is Build.
	return MLP{FC1: lin.BuildAfter(norm, r.fc1, nil), FC2: lin.BuildAfter(r.norm, r.fc2, gamma),
		Act: r.act, Gated: r.layout != MLPPlain, Norm: r.norm}
}
