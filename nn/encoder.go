package nn

import (
	"fmt"

	"github.com/anyres/anyres/posenc"
)

// Encoder is a pre-norm vision transformer as plain parts: patch
// embedding, prefix tokens, a position encoding, blocks, final norm and
// head. Families (vit, eva, beit, ...) build one from their checkpoints; a
// Model runs it on packed images of any sizes.
type Encoder struct {
	Dim, Heads int
	Patch      PatchEmbed
	// Prefix holds the tokens before the patch tokens (class,
	// distillation, registers), PrefixN rows of Dim in sequence order.
	Prefix  []float32
	PrefixN int
	// Pos adds the absolute position encoding to the prefix and patch
	// tokens of each image; posenc.None{} for none.
	Pos     posenc.Encoder
	PreNorm *LayerNorm // after the position encoding (CLIP); nil for none
	Blocks  []Block
	Norm    *LayerNorm // the final norm of forward_features; nil for none
	// Rotary rotates q and k of the patch tokens in every block whose own
	// Rotary is nil (EVA-02, RoPE-ViT); nil for none.
	Rotary posenc.Rotary
	// Bias is added to every head's attention logits in every block whose
	// own Bias is nil (after the 1/√head_dim scale); nil for none.
	Bias posenc.AttentionBias
	Head Head
	// Edge is the default edge policy for sizes that are not whole
	// patches (a run's options may override it).
	Edge EdgePolicy
}

// Block is one pre-norm transformer block:
// x += Proj(attention(QKV(Norm1(x)))); x += MLP(Norm2(x)). LayerScale is
// folded into Proj and the MLP's FC2 (NewLinear's gamma).
type Block struct {
	Norm1 LayerNorm
	QKV   Linear // Dim → 3·Dim, timm's [q | k | v] column order, heads interleaved
	Proj  Linear
	Norm2 LayerNorm
	MLP   MLP
	// Bias is this block's own attention bias (BEiT's per-block relative
	// table); nil uses the encoder's.
	Bias posenc.AttentionBias
	// Rotary is this block's own rotary embedding (RoPE-Mixed's learned
	// per-block frequencies); nil uses the encoder's.
	Rotary posenc.Rotary
	// AttnNorm normalises the attention output before Proj (timm
	// scale_attn_inner, attn.norm: EVA-02 CLIP); nil for none.
	AttnNorm *LayerNorm
}

// HeadDim is the width of one attention head.
func (e *Encoder) HeadDim() int { return e.Dim / e.Heads }

// bias returns block b's attention bias.
func (e *Encoder) bias(b int) posenc.AttentionBias {
	if bb := e.Blocks[b].Bias; bb != nil {
		return bb
	}
	return e.Bias
}

// rotary returns block b's rotary embedding.
func (e *Encoder) rotary(b int) posenc.Rotary {
	if r := e.Blocks[b].Rotary; r != nil {
		return r
	}
	return e.Rotary
}

// Check reports an encoder whose parts do not fit together.
func (e *Encoder) Check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	d := e.Dim
	switch {
	case d <= 0 || e.Heads <= 0 || d%e.Heads != 0:
		return bad("width %d does not split into %d heads", d, e.Heads)
	case e.Patch.Dim != d:
		return bad("patch embedding gives %d, the blocks take %d", e.Patch.Dim, d)
	case len(e.Prefix) != e.PrefixN*d:
		return bad("%d prefix values for %d tokens of %d", len(e.Prefix), e.PrefixN, d)
	case e.Pos == nil:
		return bad("no position encoding (use posenc.None{})")
	}
	for i := range e.Blocks {
		b := &e.Blocks[i]
		if b.QKV.In != d || b.QKV.Out != 3*d || b.Proj.In != d || b.Proj.Out != d {
			return bad("block %d: attention layers %d→%d, %d→%d for width %d", i, b.QKV.In, b.QKV.Out, b.Proj.In, b.Proj.Out, d)
		}
		if b.AttnNorm != nil && (len(b.AttnNorm.W) != d || (b.AttnNorm.B != nil && len(b.AttnNorm.B) != d)) {
			return bad("block %d: attention norm of width %d for width %d", i, len(b.AttnNorm.W), d)
		}
		if err := b.MLP.Check(d); err != nil {
			return fmt.Errorf("block %d: %w", i, err)
		}
		if bb := e.bias(i); bb != nil && bb.Heads() != e.Heads {
			return bad("block %d: attention bias has %d heads, the model %d", i, bb.Heads(), e.Heads)
		}
		if r := e.rotary(i); r != nil {
			if err := r.RotateQKV(make([]float32, 3*d), 3*d, posenc.Grid{H: 1, W: 1}, e.Heads, e.HeadDim(), 0); err != nil {
				return bad("block %d: rotary embedding for %d heads of %d: %v", i, e.Heads, e.HeadDim(), err)
			}
		}
	}
	return e.Head.check(d)
}

// FLOPs counts the floating-point operations (2 per multiply-add) of one
// forward pass over images with the given patch grids packed together:
// patch embedding, every block's GEMMs and attention, and the head.
func (e *Encoder) FLOPs(grids ...posenc.Grid) float64 {
	d := float64(e.Dim)
	k := float64(e.Patch.Channels * e.Patch.Size[0] * e.Patch.Size[1])
	var f float64
	for _, g := range grids {
		p := float64(g.N())
		t := p + float64(e.PrefixN)
		f += 2 * p * k * d
		for i := range e.Blocks {
			b := &e.Blocks[i]
			f += 2*t*d*(3*d+d) + 2*t*(float64(b.MLP.FC1.Out)*d+float64(b.MLP.FC2.In)*d) + 4*t*t*d
		}
		if a := e.Head.MAP; a != nil { // k and v of every token, the latents' q, scores, proj, MLP
			l := float64(a.LatentN)
			f += 4*t*d*d + 2*l*d*d + 4*l*t*d + 2*l*d*d + 4*l*d*float64(a.MLP.FC1.Out)
		}
		for _, c := range e.Head.Classifiers {
			f += 2 * float64(c.In) * float64(c.Out)
		}
	}
	return f
}
