package hiera

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// block is one HieraBlock: pre-norm mask-unit (or global) attention whose
// queries may be max-pooled, and an MLP. At a stage's start the residual
// widens and pools with the queries.
type block struct {
	dimIn, dim, heads int
	qStride           int  // tokens pooled into one (flattened q_stride), 1 for none
	window            int  // tokens per mask unit after this block's pooling
	unit              bool // mask-unit attention (else global)
	pool              bool // the residual widens and pools (dimIn ≠ dim)
	norm1             nn.LayerNorm
	qkv               nn.Linear
	expand            *nn.Linear // the widening projection before the max-pool; nil: max and mean pools side by side
	proj              nn.Linear  // attention output, LayerScale folded in
	norm2             nn.LayerNorm
	mlp               nn.MLP // LayerScale folded into FC2
}

// net is the weights of a Hiera model.
type net struct {
	embed  *kernels.PackedB // [C·kh·kw] → dim
	embedB []float32
	pos    *posenc.AbsWin // pos_embed resampled per grid + pos_embed_win tiled
	blocks []block
	norm   *nn.LayerNorm // head.norm
	head   *nn.Linear    // nil without classes
}

// layers reads every tensor the config calls for, by timm state_dict
// name; a tensor of the source that nothing reads is an error naming it.
func layers(c Config, src nn.Source, o options) (*net, error) {
	w := nn.NewWeights(src)
	w.AllowNonFinite, w.Ignore = o.AllowNonFinite, o.Ignore
	linears := nn.NewLinears(w, o.Precision)
	lin := func(name string, out, in int, gamma []float32) nn.Linear {
		wt, b := w.Get(name+".weight", out, in), w.Get(name+".bias", out)
		if w.Err() != nil {
			return nn.Linear{In: in, Out: out}
		}
		return linears.New(name, wt, b, out, in, gamma)
	}
	raw := func(name string, out, in int) nn.RawLinear {
		return nn.RawLinear{Names: []string{name}, W: w.Get(name+".weight", out, in), B: w.Get(name+".bias", out), Out: out, In: in}
	}
	n := &net{}
	d0, kh, kw := c.EmbedDim, c.PatchKernel[0], c.PatchKernel[1]
	k := c.InChans * kh * kw
	kernel := w.Get("patch_embed.proj.weight", d0, c.InChans, kh, kw)
	n.embedB = w.Get("patch_embed.proj.bias", d0)
	pg := w.Get("pos_embed", 1, d0, c.GlobalPos[0], c.GlobalPos[1])
	pw := w.Get("pos_embed_win", 1, d0, c.MaskUnit[0], c.MaskUnit[1])
	if w.Err() == nil {
		n.embed = kernels.PackB(true, k, d0, kernel, k)
		g, u := posenc.Grid{H: c.GlobalPos[0], W: c.GlobalPos[1]}, posenc.Grid{H: c.MaskUnit[0], W: c.MaskUnit[1]}
		var err error
		if n.pos, err = posenc.NewAbsWin(channelsLast(pg, d0), g, channelsLast(pw, d0), u, d0, o.resample()); err != nil {
			w.Fail(fmt.Errorf("%w: pos_embed, pos_embed_win: %v", nn.ErrWeight, err))
		}
	}
	flatQ := c.QStride[0] * c.QStride[1]
	window := c.MaskUnit[0] * c.MaskUnit[1]
	dim, heads, stage := d0, c.Heads, 0
	ends := map[int]bool{}
	total := 0
	for _, s := range c.Stages {
		total += s
		ends[total-1] = true
	}
	for i := 0; i < total; i++ {
		b := block{dimIn: dim, dim: dim, heads: heads, qStride: 1, unit: c.MaskUnitAttn[stage]}
		if ends[i-1] {
			b.dim, b.heads = dim*c.DimMul, heads*c.HeadMul
			heads = b.heads
			stage++
			b.qStride, b.pool = flatQ, true
			window /= flatQ
		}
		b.window = window
		p := fmt.Sprintf("blocks.%d.", i)
		var g1, g2 []float32
		if c.LayerScale {
			g1, g2 = w.Get(p+"ls1.gamma", b.dim), w.Get(p+"ls2.gamma", b.dim)
		}
		b.norm1 = *nn.NewLayerNorm(w, p+"norm1", b.dimIn, eps)
		qkv := raw(p+"attn.qkv", 3*b.dim, b.dimIn)
		switch {
		case b.pool && c.ExpandProj:
			// norm1 feeds qkv and the expand projection alone: an int8
			// qkv takes its affine part with the projection rewritten too.
			ex := raw(p+"proj", b.dim, b.dimIn)
			if w.Err() == nil {
				b.qkv = linears.BuildAfterShared(&b.norm1, qkv, nil, &ex)
				l := linears.Build(ex, nil)
				b.expand = &l
			}
		case b.pool:
			// The pooled normalised tokens become the residual: nothing
			// can take norm1's affine part.
			if w.Err() == nil {
				b.qkv = linears.Build(qkv, nil)
			}
		default:
			if w.Err() == nil {
				b.qkv = linears.BuildAfter(&b.norm1, qkv, nil)
			}
		}
		b.proj = lin(p+"attn.proj", b.dim, b.dim, g1)
		b.norm2 = *nn.NewLayerNorm(w, p+"norm2", b.dim, eps)
		h := c.MLPHidden[stage]
		fc1 := raw(p+"mlp.fc1", h, b.dim)
		var fc1L nn.Linear
		if w.Err() == nil {
			fc1L = linears.BuildAfter(&b.norm2, fc1, nil)
		}
		b.mlp = nn.MLP{FC1: fc1L, FC2: lin(p+"mlp.fc2", b.dim, h, g2), Act: kernels.ActGELU}
		n.blocks = append(n.blocks, b)
		dim = b.dim
	}
	n.norm = nn.NewLayerNorm(w, "head.norm", dim, eps)
	if c.NumClasses > 0 {
		l := lin("head.fc", c.NumClasses, dim, nil)
		n.head = &l
	}
	if err := w.Finish(); err != nil {
		return nil, err
	}
	return n, nil
}

// channelsLast turns a [1, C, h, w] table into h·w rows of C.
func channelsLast(t []float32, c int) []float32 {
	hw := len(t) / c
	r := make([]float32, len(t))
	for ch := 0; ch < c; ch++ {
		for i := 0; i < hw; i++ {
			r[i*c+ch] = t[ch*hw+i]
		}
	}
	return r
}
