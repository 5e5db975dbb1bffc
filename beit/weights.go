package beit

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// encoder reads and checks every tensor the config calls for, by timm
// state_dict name, and builds the layers; a tensor of the checkpoint the
// config does not use is an error.
func encoder(c Config, src nn.Source, o nn.LoadOptions) (*nn.Encoder, error) {
	w := nn.NewWeights(src)
	w.AllowNonFinite = o.AllowNonFinite
	// timm's checkpoint filter drops stored relative_position_index
	// buffers (older checkpoints saved them): they are recomputed.
	w.Ignore = func(name string) bool {
		return strings.HasSuffix(name, "relative_position_index") || (o.Ignore != nil && o.Ignore(name))
	}
	d, C, eps, heads := c.EmbedDim, c.InChans, c.NormEps, c.NumHeads
	th, tw := c.TrainGrid()
	window := posenc.Grid{H: th, W: tw}
	rows := posenc.RelPosTableRows(window, true)
	e := &nn.Encoder{Dim: d, Heads: heads, PrefixN: 1, Pos: posenc.None{}}
	kernel := w.Get("patch_embed.proj.weight", d, C, c.PatchSize[0], c.PatchSize[1])
	patchB := w.Get("patch_embed.proj.bias", d)
	e.Prefix = w.Get("cls_token", 1, 1, d)
	var table []float32
	if c.AbsPosEmbed {
		table = w.Get("pos_embed", 1, 1+th*tw, d)
	}
	var shared []float32
	if c.SharedRelPosBias {
		shared = w.Get("rel_pos_bias.relative_position_bias_table", rows, heads)
	}
	layout, act := nn.MLPPlain, kernels.ActGELU
	switch c.Act {
	case "gelu_tanh":
		act = kernels.ActGELUTanh
	case "quick_gelu":
		act = kernels.ActQuickGELU
	}
	if c.SwiGLU {
		layout, act = nn.MLPSplit, kernels.ActSiLU
	}
	type rawBlock struct {
		qkv, qkvB, proj, projB, g1, g2, rel []float32
		mlp                                 nn.RawMLP
	}
	raws := make([]rawBlock, c.Depth)
	e.Blocks = make([]nn.Block, c.Depth)
	for i := range e.Blocks {
		b, r, p := &e.Blocks[i], &raws[i], "blocks."+strconv.Itoa(i)+"."
		b.Norm1 = *nn.NewLayerNorm(w, p+"norm1", d, eps)
		r.qkv = w.Get(p+"attn.qkv.weight", 3*d, d)
		if c.QKVBias { // q and v biases; k has none
			q, v := w.Get(p+"attn.q_bias", d), w.Get(p+"attn.v_bias", d)
			if w.Err() == nil {
				r.qkvB = make([]float32, 3*d)
				copy(r.qkvB, q)
				copy(r.qkvB[2*d:], v)
			}
		}
		if c.RelPosBias {
			r.rel = w.Get(p+"attn.relative_position_bias_table", rows, heads)
		}
		r.proj, r.projB = w.Get(p+"attn.proj.weight", d, d), w.Get(p+"attn.proj.bias", d)
		b.Norm2 = *nn.NewLayerNorm(w, p+"norm2", d, eps)
		r.mlp = nn.ReadMLP(w, p+"mlp.", layout, d, c.MLPHidden, act, c.ScaleMLP, eps)
		if c.LayerScale {
			r.g1, r.g2 = w.Get(p+"gamma_1", d), w.Get(p+"gamma_2", d)
		}
	}
	if c.FinalNorm {
		e.Norm = nn.NewLayerNorm(w, "norm", d, eps)
	}
	if c.FCNorm {
		e.Head.FCNorm = nn.NewLayerNorm(w, "fc_norm", d, eps)
	}
	var hw, hb []float32
	if c.NumClasses > 0 {
		hw, hb = w.Get("head.weight", c.NumClasses, d), w.Get("head.bias", c.NumClasses)
	}
	if err := w.Finish(); err != nil {
		return nil, err
	}

	// Every tensor is there and the right shape: pack the matrices.
	e.Patch = nn.NewPatchEmbed(kernel, patchB, d, C, c.PatchSize)
	lin := nn.NewLinears(w, o.Precision)
	for i := range e.Blocks {
		b, r, p := &e.Blocks[i], &raws[i], "blocks."+strconv.Itoa(i)+"."
		b.QKV = lin.NewAfter(&b.Norm1, p+"attn.qkv", r.qkv, r.qkvB, 3*d, d, nil)
		b.Proj = lin.New(p+"attn.proj", r.proj, r.projB, d, d, r.g1)
		b.MLP = r.mlp.BuildAfter(lin, &b.Norm2, r.g2)
		if r.rel != nil {
			// The table is resized to each grid as timm's checkpoint
			// filter does (resize_rel_pos_bias_table), cached per grid.
			bias, err := relBias(c, r.rel, heads, window)
			if err != nil {
				return nil, fmt.Errorf("%w: block %d relative position bias: %v", ErrConfig, i, err)
			}
			b.Bias = bias
		}
	}
	if shared != nil {
		bias, err := relBias(c, shared, heads, window)
		if err != nil {
			return nil, fmt.Errorf("%w: shared relative position bias: %v", ErrConfig, err)
		}
		e.Bias = bias
	}
	if hw != nil {
		e.Head.Classifiers = []nn.Linear{lin.New("head", hw, hb, c.NumClasses, d, nil)}
	}
	switch c.GlobalPool {
	case "token":
		e.Head.Pool = nn.PoolToken
	case "avg":
		e.Head.Pool = nn.PoolAvg
	}
	if c.AbsPosEmbed {
		opt := posenc.DefaultResampleOptions()
		if o.Resample != nil {
			opt = *o.Resample
		}
		var err error
		if e.Pos, err = posenc.NewLearned(table, 1, window, d, opt); err != nil {
			return nil, fmt.Errorf("%w: position table: %v", ErrConfig, err)
		}
	} else if o.Resample != nil {
		// Options are acted on or refused, never ignored.
		return nil, fmt.Errorf("%w: this BEiT model has no learned position table (pos_embed) to resample", ErrConfig)
	}
	return e, nil
}

// relBias wraps a relative bias table, resized to other grids by timm's
// rule or, for transformers checkpoints, transformers' (bilinear).
func relBias(c Config, table []float32, heads int, window posenc.Grid) (*posenc.RelPosBias, error) {
	if c.RelBiasInterp {
		return posenc.NewRelPosBiasInterp(table, heads, window, true, nil, posenc.ResampleOptions{Method: posenc.Bilinear})
	}
	return posenc.NewRelPosBias(table, heads, window, true, nil)
}
