package naflex

import (
	"fmt"
	"strconv"

	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// encoder reads every tensor the config calls for, by timm state_dict
// name, and builds the layers; a tensor of the source that nothing reads
// is an error naming it.
func encoder(c Config, src nn.Source, opts options) (*nn.Encoder, error) {
	w := nn.NewWeights(src)
	w.AllowNonFinite, w.Ignore = opts.AllowNonFinite, opts.Ignore
	d, C, h, eps := c.EmbedDim, c.InChans, c.MLPHidden, c.NormEps
	ph, pw := c.PatchSize[0], c.PatchSize[1]
	act, err := c.activation()
	if err != nil {
		return nil, err
	}
	e := &nn.Encoder{Dim: d, Heads: c.NumHeads, PrefixN: c.Prefix(), Pos: posenc.None{}}
	if c.DynPad {
		e.Edge = nn.EdgePad
	}
	var proj []float32
	if c.ConvEmbed {
		proj = w.Get("embeds.proj.weight", d, C, ph, pw)
	} else {
		proj = w.Get("embeds.proj.weight", d, ph*pw*C)
	}
	var projB []float32
	if !c.PreNorm { // timm: proj_bias = not pre_norm
		projB = w.Get("embeds.proj.bias", d)
	}
	if c.ClassToken {
		e.Prefix = append(e.Prefix, w.Get("embeds.cls_token", 1, 1, d)...)
	}
	if c.RegTokens > 0 {
		e.Prefix = append(e.Prefix, w.Get("embeds.reg_token", 1, c.RegTokens, d)...)
	}
	var table []float32
	if c.PosGrid != [2]int{} {
		table = w.Get("embeds.pos_embed", 1, c.PosGrid[0], c.PosGrid[1], d)
	}
	if c.PreNorm {
		e.PreNorm = nn.NewLayerNorm(w, "norm_pre", d, eps)
	}
	// Layers are packed as they are read (a tensor missing or of the
	// wrong shape stops the reading: Finish reports it).
	linears := nn.NewLinears(w, opts.Precision)
	// linAfter builds a layer that reads norm's output alone (nil: none).
	linAfter := func(norm *nn.LayerNorm, name string, out, in int, gamma []float32, bias bool) nn.Linear {
		wt := w.Get(name+".weight", out, in)
		var b []float32
		if bias {
			b = w.Get(name+".bias", out)
		}
		if w.Err() != nil {
			return nn.Linear{In: in, Out: out}
		}
		return linears.NewAfter(norm, name, wt, b, out, in, gamma)
	}
	lin := func(name string, out, in int, gamma []float32, bias bool) nn.Linear {
		return linAfter(nil, name, out, in, gamma, bias)
	}
	e.Blocks = make([]nn.Block, c.Depth)
	for i := range e.Blocks {
		b, p := &e.Blocks[i], "blocks."+strconv.Itoa(i)+"."
		var g1, g2 []float32
		if c.LayerScale {
			g1, g2 = w.Get(p+"ls1.gamma", d), w.Get(p+"ls2.gamma", d)
		}
		b.Norm1 = *nn.NewLayerNorm(w, p+"norm1", d, eps)
		b.QKV = linAfter(&b.Norm1, p+"attn.qkv", 3*d, d, nil, c.QKVBias)
		b.Proj = lin(p+"attn.proj", d, d, g1, true)
		b.Norm2 = *nn.NewLayerNorm(w, p+"norm2", d, eps)
		b.MLP = nn.MLP{FC1: linAfter(&b.Norm2, p+"mlp.fc1", h, d, nil, true), FC2: lin(p+"mlp.fc2", d, h, g2, true), Act: act}
	}
	if c.FinalNorm {
		e.Norm = nn.NewLayerNorm(w, "norm", d, eps)
	}
	switch c.GlobalPool {
	case "map":
		ph := c.PoolHidden
		e.Head.Pool = nn.PoolMAP
		mp := &nn.AttentionPool{Latent: w.Get("attn_pool.latent", 1, 1, d), LatentN: 1, Heads: c.PoolHeads,
			Q: lin("attn_pool.q", d, d, nil, true), KV: lin("attn_pool.kv", 2*d, d, nil, true),
			Proj: lin("attn_pool.proj", d, d, nil, true), Norm: *nn.NewLayerNorm(w, "attn_pool.norm", d, eps)}
		mp.MLP = nn.MLP{FC1: linAfter(&mp.Norm, "attn_pool.mlp.fc1", ph, d, nil, true), FC2: lin("attn_pool.mlp.fc2", d, ph, nil, true), Act: act}
		e.Head.MAP = mp
	case "avg":
		e.Head.Pool = nn.PoolAvg
	case "token":
		e.Head.Pool = nn.PoolToken
	}
	if c.FCNorm {
		e.Head.FCNorm = nn.NewLayerNorm(w, "fc_norm", d, eps)
	}
	if c.NumClasses > 0 {
		e.Head.Classifiers = []nn.Linear{lin("head", c.NumClasses, d, nil, true)}
	}
	if err := w.Finish(); err != nil {
		return nil, err
	}
	if !c.ConvEmbed && !c.ChannelsFirst {
		proj = convKernel(proj, d, C, ph, pw) // a channels-first linear layer is the kernel already
	}
	e.Patch = nn.NewPatchEmbed(proj, projB, d, C, c.PatchSize)
	if table != nil {
		opt, err := c.resample()
		if err != nil {
			return nil, err
		}
		if opts.Resample != nil {
			opt = *opts.Resample
		}
		// The table has rows for the patches only: prefix tokens get none.
		l, err := posenc.NewLearned(table, 0, posenc.Grid{H: c.PosGrid[0], W: c.PosGrid[1]}, d, opt)
		if err != nil {
			return nil, fmt.Errorf("%w: position table: %v", ErrConfig, err)
		}
		e.Pos = l
		if c.PosSquare {
			e.Pos = &squarePos{table: l}
		}
	} else if opts.Resample != nil {
		// Options are acted on or refused, never ignored.
		return nil, fmt.Errorf("%w: this NaFlexVit has no learned position table to resample", ErrConfig)
	}
	return e, nil
}

// convKernel turns NaFlex's linear patch embedding, [dim, ph·pw·C] over
// channels-last patches, into the [dim, C, ph, pw] convolution kernel of
// nn.PatchEmbed: the same weights, another order of the inputs.
func convKernel(lin []float32, d, C, ph, pw int) []float32 {
	k := C * ph * pw
	out := make([]float32, d*k)
	for o := 0; o < d; o++ {
		src, dst := lin[o*k:(o+1)*k], out[o*k:(o+1)*k]
		for y := 0; y < ph; y++ {
			for x := 0; x < pw; x++ {
				for c := 0; c < C; c++ {
					dst[(c*ph+y)*pw+x] = src[(y*pw+x)*C+c]
				}
			}
		}
	}
	return out
}
