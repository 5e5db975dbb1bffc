package eva

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
	// timm's checkpoint filter drops stored RoPE buffers (fixed tables
	// that older checkpoints saved): only the learned rope.freqs are weights.
	w.Ignore = func(name string) bool {
		return (strings.HasPrefix(name, "rope.") && name != "rope.freqs") || (o.Ignore != nil && o.Ignore(name))
	}
	d, C, eps := c.EmbedDim, c.InChans, c.NormEps
	e := &nn.Encoder{Dim: d, Heads: c.NumHeads, PrefixN: c.Prefix(), Pos: posenc.None{}}
	if c.DynamicImgPad {
		e.Edge = nn.EdgePad
	}
	kernel := w.Get("patch_embed.proj.weight", d, C, c.PatchSize[0], c.PatchSize[1])
	var patchB []float32
	if c.PatchBias {
		patchB = w.Get("patch_embed.proj.bias", d)
	}
	if c.ClassToken {
		e.Prefix = append(e.Prefix, w.Get("cls_token", 1, 1, d)...)
	}
	if c.RegTokens > 0 {
		e.Prefix = append(e.Prefix, w.Get("reg_token", 1, c.RegTokens, d)...)
	}
	var table []float32
	tablePrefix := c.Prefix()
	if c.NoEmbedClass {
		tablePrefix = 0
	}
	th, tw := c.TrainGrid()
	if c.AbsPosEmbed {
		table = w.Get("pos_embed", 1, tablePrefix+th*tw, d)
	}
	hd := d / c.NumHeads
	var freqs []float32
	if c.Rope == "mixed" {
		freqs = w.Get("rope.freqs", 2, c.Depth, c.NumHeads, hd/2)
	}
	if c.PreNorm {
		e.PreNorm = nn.NewLayerNorm(w, "norm_pre", d, eps)
	}
	layout := map[string]nn.MLPLayout{"mlp": nn.MLPPlain, "glu": nn.MLPPacked, "swiglu": nn.MLPSplit}[c.MLP]
	act := kernels.ActGELU
	if c.MLP != "mlp" {
		act = kernels.ActSiLU
	}
	type rawBlock struct {
		qkv         nn.RawLinear
		proj, projB []float32
		g1, g2      []float32
		mlp         nn.RawMLP
	}
	raws := make([]rawBlock, c.Depth)
	e.Blocks = make([]nn.Block, c.Depth)
	for i := range e.Blocks {
		b, r, p := &e.Blocks[i], &raws[i], "blocks."+strconv.Itoa(i)+"."
		b.Norm1 = *nn.NewLayerNorm(w, p+"norm1", d, eps)
		r.qkv = nn.ReadQKV(w, p+"attn.", d)
		if c.AttnNorm {
			b.AttnNorm = nn.NewLayerNorm(w, p+"attn.norm", d, eps)
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
	var pool *nn.RawAttentionPool
	if c.GlobalPool == "map" {
		pool = nn.ReadAttentionPool(w, "attn_pool.", d, c.PoolLatents, c.PoolHeads, c.PoolHidden, kernels.ActGELU, eps)
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
		b.QKV = lin.BuildAfter(&b.Norm1, r.qkv, nil)
		b.Proj = lin.New(p+"attn.proj", r.proj, r.projB, d, d, r.g1)
		b.MLP = r.mlp.BuildAfter(lin, &b.Norm2, r.g2)
	}
	if hw != nil {
		e.Head.Classifiers = []nn.Linear{lin.New("head", hw, hb, c.NumClasses, d, nil)}
	}
	switch c.GlobalPool {
	case "token":
		e.Head.Pool = nn.PoolToken
	case "avg":
		e.Head.Pool = nn.PoolAvg
	case "map":
		e.Head.Pool, e.Head.MAP = nn.PoolMAP, pool.Build(lin)
	}
	if c.AbsPosEmbed {
		opt := posenc.DefaultResampleOptions()
		if o.Resample != nil {
			opt = *o.Resample
		}
		var err error
		if e.Pos, err = posenc.NewLearned(table, tablePrefix, posenc.Grid{H: th, W: tw}, d, opt); err != nil {
			return nil, fmt.Errorf("%w: position table: %v", ErrConfig, err)
		}
	} else if o.Resample != nil {
		// Options are acted on or refused, never ignored.
		return nil, fmt.Errorf("%w: this EVA model has no learned position table (pos_embed) to resample", ErrConfig)
	}
	switch c.Rope {
	case "cat":
		e.Rotary = &posenc.Rope2D{Options: posenc.RopeOptions{Bands: posenc.FreqBands, Temperature: c.RopeTemperature,
			RefGrid: posenc.Grid{H: c.RopeRefShape[0], W: c.RopeRefShape[1]}, GridOffset: c.RopeGridOffset, XY: c.RopeXY}}
	case "dinov3":
		e.Rotary = &posenc.RopeDinoV3{Options: posenc.DinoV3Options{Temperature: c.RopeTemperature, Interleaved: !c.RopeHalf}}
	case "mixed":
		r, err := posenc.NewRopeMixed(freqs, c.Depth, c.NumHeads, hd, c.RopeXY)
		if err != nil {
			return nil, fmt.Errorf("%w: rope.freqs: %v", ErrConfig, err)
		}
		for i := range e.Blocks {
			e.Blocks[i].Rotary = r.Layer(i)
		}
	}
	return e, nil
}
