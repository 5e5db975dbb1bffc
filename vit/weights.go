package vit

import (
	"fmt"
	"strconv"

	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// encoder reads and checks every tensor the config calls for, by timm
// state_dict name, and builds the layers; a listed tensor the config does
// not use is an error. It returns the patch size the model runs at.
func encoder(c Config, src TensorSource, opts Options) (*nn.Encoder, [2]int, error) {
	w := nn.NewWeights(src)
	w.AllowNonFinite, w.Ignore = opts.AllowNonFinite, opts.Ignore
	d, C, h := c.EmbedDim, c.Channels(), c.MLPHidden
	eps := c.NormEps
	act, _ := c.activation()
	e := &nn.Encoder{Dim: d, Heads: c.NumHeads, PrefixN: c.Prefix(), Pos: posenc.None{}, Rotary: opts.Rotary, Bias: opts.AttentionBias}
	if c.DynamicImgPad {
		e.Edge = nn.EdgePad
	}
	kernel := w.Get("patch_embed.proj.weight", d, C, c.PatchSize[0], c.PatchSize[1])
	var patchB []float32
	if !c.NoPatchBias {
		patchB = w.Get("patch_embed.proj.bias", d)
	}
	// Prefix tokens in timm's order: class, distillation, registers.
	if c.ClassToken {
		e.Prefix = append(e.Prefix, w.Get("cls_token", 1, 1, d)...)
	}
	if c.DistToken {
		e.Prefix = append(e.Prefix, w.Get("dist_token", 1, 1, d)...)
	}
	if c.RegTokens > 0 {
		e.Prefix = append(e.Prefix, w.Get("reg_token", 1, c.RegTokens, d)...)
	}
	var table []float32
	if c.PosEmbed == "learn" {
		table = w.Get("pos_embed", 1, c.posTableRows(), d)
	}
	if c.PreNorm {
		e.PreNorm = nn.NewLayerNorm(w, "norm_pre", d, eps)
	}
	raw := func(name string, out, in int) (weight, bias []float32) {
		return w.Get(name+".weight", out, in), w.Get(name+".bias", out)
	}
	type rawBlock struct {
		qkv, qkvB, proj, projB, fc1, fc1B, fc2, fc2B, g1, g2 []float32
	}
	raws := make([]rawBlock, c.Depth)
	e.Blocks = make([]nn.Block, c.Depth)
	for i := range e.Blocks {
		b, r, p := &e.Blocks[i], &raws[i], "blocks."+strconv.Itoa(i)+"."
		b.Norm1 = *nn.NewLayerNorm(w, p+"norm1", d, eps)
		r.qkv = w.Get(p+"attn.qkv.weight", 3*d, d)
		if c.QKVBias {
			r.qkvB = w.Get(p+"attn.qkv.bias", 3*d)
		}
		r.proj, r.projB = raw(p+"attn.proj", d, d)
		b.Norm2 = *nn.NewLayerNorm(w, p+"norm2", d, eps)
		r.fc1, r.fc1B = raw(p+"mlp.fc1", h, d)
		r.fc2, r.fc2B = raw(p+"mlp.fc2", d, h)
		if c.LayerScale {
			r.g1, r.g2 = w.Get(p+"ls1.gamma", d), w.Get(p+"ls2.gamma", d)
		}
	}
	if c.FinalNorm {
		e.Norm = nn.NewLayerNorm(w, "norm", d, eps)
	}
	if c.FCNorm {
		e.Head.FCNorm = nn.NewLayerNorm(w, "fc_norm", d, eps)
	}
	// The 'map' head (AttentionPoolLatent): weight and bias of q, kv,
	// proj, mlp.fc1, mlp.fc2.
	var mapRaw [5][2][]float32
	if c.GlobalPool == "map" {
		l := max(c.AttnPoolLatents, 1)
		e.Head.MAP = &nn.AttentionPool{Latent: w.Get("attn_pool.latent", 1, l, d), LatentN: l, Heads: c.NumHeads,
			Norm: *nn.NewLayerNorm(w, "attn_pool.norm", d, eps)}
		for i, l := range []struct {
			name    string
			out, in int
		}{{"q", d, d}, {"kv", 2 * d, d}, {"proj", d, d}, {"mlp.fc1", h, d}, {"mlp.fc2", d, h}} {
			mapRaw[i][0], mapRaw[i][1] = raw("attn_pool."+l.name, l.out, l.in)
		}
	}
	var pooler [2][]float32
	if c.Pooler {
		pooler[0], pooler[1] = raw("pooler.dense", d, d)
	}
	var heads [][2][]float32
	if c.NumClasses > 0 {
		in := d
		if c.GlobalPool == "token_avg" {
			in = 2 * d
		}
		hw := w.Get("head.weight", c.NumClasses, in)
		var hb []float32
		if !c.NoHeadBias {
			hb = w.Get("head.bias", c.NumClasses)
		}
		heads = append(heads, [2][]float32{hw, hb})
		if c.DistToken {
			hw, hb := raw("head_dist", c.NumClasses, d)
			heads = append(heads, [2][]float32{hw, hb})
		}
	}
	if err := w.Finish(); err != nil {
		return nil, [2]int{}, err
	}
	if err := opts.Precision.Check(); err != nil {
		return nil, [2]int{}, err
	}

	// Every tensor is there and the right shape: pack the matrices.
	patch := c.PatchSize
	if p := opts.PatchSize; p != [2]int{} && p != c.PatchSize {
		if p[0] <= 0 || p[1] <= 0 || p[0] > maxPatch || p[1] > maxPatch {
			return nil, patch, fmt.Errorf("%w: patch size %v: each side must be in 1..%d", ErrConfig, p, maxPatch)
		}
		var err error
		if kernel, err = resizePatchKernel(kernel, c, p, resampleOptions(opts.Resample)); err != nil {
			return nil, patch, err
		}
		patch = p
	}
	e.Patch = nn.NewPatchEmbed(kernel, patchB, d, C, patch)
	lin := nn.NewLinears(w, opts.Precision)
	for i := range e.Blocks {
		b, r, p := &e.Blocks[i], &raws[i], "blocks."+strconv.Itoa(i)+"."
		b.QKV = lin.NewAfter(&b.Norm1, p+"attn.qkv", r.qkv, r.qkvB, 3*d, d, nil)
		b.Proj = lin.New(p+"attn.proj", r.proj, r.projB, d, d, r.g1)
		b.MLP = nn.MLP{FC1: lin.NewAfter(&b.Norm2, p+"mlp.fc1", r.fc1, r.fc1B, h, d, nil), FC2: lin.New(p+"mlp.fc2", r.fc2, r.fc2B, d, h, r.g2), Act: act}
	}
	if mp := e.Head.MAP; mp != nil {
		mp.Q = lin.New("attn_pool.q", mapRaw[0][0], mapRaw[0][1], d, d, nil)
		mp.KV = lin.New("attn_pool.kv", mapRaw[1][0], mapRaw[1][1], 2*d, d, nil)
		mp.Proj = lin.New("attn_pool.proj", mapRaw[2][0], mapRaw[2][1], d, d, nil)
		mp.MLP = nn.MLP{FC1: lin.NewAfter(&mp.Norm, "attn_pool.mlp.fc1", mapRaw[3][0], mapRaw[3][1], h, d, nil), FC2: lin.New("attn_pool.mlp.fc2", mapRaw[4][0], mapRaw[4][1], d, h, nil), Act: act}
	}
	for i, hd := range heads {
		e.Head.Classifiers = append(e.Head.Classifiers, lin.New([]string{"head", "head_dist"}[i], hd[0], hd[1], c.NumClasses, len(hd[0])/c.NumClasses, nil))
	}
	if c.Pooler {
		p := lin.New("pooler.dense", pooler[0], pooler[1], d, d, nil)
		e.Head.Pooler = &p
	}
	switch c.GlobalPool {
	case "token":
		e.Head.Pool = nn.PoolToken
		if c.DistToken {
			e.Head.Tokens = 2
		}
	case "avg":
		e.Head.Pool = nn.PoolAvg
	case "map":
		e.Head.Pool = nn.PoolMAP
	case "token_avg":
		e.Head.Pool = nn.PoolTokenAvg
	}
	var err error
	switch {
	case opts.PosEncoder != nil:
		e.Pos = opts.PosEncoder
	case c.PosEmbed == "learn":
		tablePrefix := c.Prefix()
		if c.NoEmbedClass {
			tablePrefix = 0
		}
		th, tw := c.TrainGrid()
		if e.Pos, err = posenc.NewLearned(table, tablePrefix, posenc.Grid{H: th, W: tw}, d, resampleOptions(opts.Resample)); err != nil {
			return nil, patch, fmt.Errorf("%w: position table: %v", ErrConfig, err)
		}
	case opts.Resample != nil && patch == c.PatchSize:
		// Options are acted on or refused, never ignored: no table, no
		// patch kernel to resize.
		return nil, patch, fmt.Errorf("%w: this model has no learned position table (pos_embed) to resample", ErrConfig)
	}
	return e, patch, nil
}
