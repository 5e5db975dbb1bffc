package swin

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// cpbHidden is the hidden width of Swin V2's cpb_mlp (fixed in timm).
const cpbHidden = 512

// block is one Swin block: window attention and MLP, pre-norm (v1) or
// post-norm (V2) residuals.
type block struct {
	norm1, norm2 nn.LayerNorm
	qkv, proj    nn.Linear // V2: the qkv bias is [q_bias | 0 | v_bias]
	mlp          nn.MLP
	// table is the relative position bias of every offset of the stage's
	// window, head-major: heads × (2H-1)·(2W-1). v1: the learned table;
	// V2: 16·sigmoid(cpb_mlp(log-spaced offsets)), computed at load
	// because the window is fixed when the model is built.
	table []float32
	// scale is each head's logit scale of V2's cosine attention,
	// exp(min(logit_scale, ln 100)); nil for v1 (1/√head_dim on q·kᵀ).
	scale []float32
	cpb   [3][]float32 // V2: the bias MLP's fc1 weight and bias, fc2 weight (BiasTable)
	shift [2]int       // the cyclic shift (0 for even blocks)
}

// stage is an optional patch merging, then blocks on one window size.
type stage struct {
	dim, heads int
	window     [2]int
	rows       int     // rows of the blocks' bias tables
	index      []int32 // window area² entries: the table row of each (query, key) pair
	mergeNorm  nn.LayerNorm
	reduction  nn.Linear // stages after the first: 4·previous width → dim
	blocks     []block
}

// network is a model's layers. Vectors point into the (mapped) file;
// matrices are packed copies.
type network struct {
	v2        bool
	patch     nn.PatchEmbed
	patchNorm nn.LayerNorm
	stages    []stage
	norm      nn.LayerNorm
	// head is timm's ClassifierHead: the mean of the last stage's
	// tokens (global_pool 'avg'; none for ''), then head.fc.
	head nn.Head
}

// load reads and checks every tensor the config calls for, by timm
// state_dict name, and builds the layers; a listed tensor the config does
// not use is an error.
func load(c Config, src nn.Source, opts options) (*network, error) {
	w := nn.NewWeights(src)
	w.AllowNonFinite = opts.AllowNonFinite
	w.Ignore = func(name string) bool { return derived(name) || (opts.Ignore != nil && opts.Ignore(name)) }
	eps := c.NormEps
	linears := nn.NewLinears(w, opts.Precision)
	// linearAfter builds a layer that reads norm's output alone (nil:
	// none); V2's norms follow its layers, so nothing folds there.
	linearAfter := func(norm *nn.LayerNorm, name string, weight, bias []float32, out, in int) nn.Linear {
		if w.Err() != nil {
			return nn.Linear{}
		}
		if c.V2() {
			norm = nil
		}
		return linears.NewAfter(norm, name, weight, bias, out, in, nil)
	}
	linear := func(name string, weight, bias []float32, out, in int) nn.Linear {
		return linearAfter(nil, name, weight, bias, out, in)
	}
	d0, p, C := c.EmbedDim, c.PatchSize, c.InChans
	n := &network{v2: c.V2()}
	kernel := w.Get("patch_embed.proj.weight", d0, C, p[0], p[1])
	patchB := w.Get("patch_embed.proj.bias", d0)
	if w.Err() == nil {
		n.patch = nn.NewPatchEmbed(kernel, patchB, d0, C, p)
	}
	n.patchNorm = *nn.NewLayerNorm(w, "patch_embed.norm", d0, c.patchEps())
	n.stages = make([]stage, len(c.Depths))
	for si := range n.stages {
		s := &n.stages[si]
		s.dim, s.heads = c.StageDim(si), c.NumHeads[si]
		d, hidden := s.dim, c.MLPHidden(si)
		var shift [2]int
		s.window, shift = c.StageWindow(si)
		win := posenc.Grid{H: s.window[0], W: s.window[1]}
		var err error
		if s.index, err = posenc.RelativePositionIndex(win, false); err != nil {
			return nil, fmt.Errorf("%w: stage %d window %v: %v", ErrConfig, si, s.window, err)
		}
		s.rows = posenc.RelPosTableRows(win, false)
		pw := c.PretrainedWindow(si)
		if si > 0 {
			pre := "layers." + strconv.Itoa(si) + ".downsample."
			in := 4 * c.StageDim(si-1)
			rw := w.Get(pre+"reduction.weight", d, in)
			if n.v2 {
				s.mergeNorm = *nn.NewLayerNorm(w, pre+"norm", d, c.patchEps()) // after the reduction
			} else {
				s.mergeNorm = *nn.NewLayerNorm(w, pre+"norm", in, c.patchEps())
			}
			s.reduction = linearAfter(&s.mergeNorm, pre+"reduction", rw, nil, d, in)
		}
		s.blocks = make([]block, c.Depths[si])
		for bi := range s.blocks {
			b := &s.blocks[bi]
			pre := "layers." + strconv.Itoa(si) + ".blocks." + strconv.Itoa(bi) + "."
			b.norm1 = *nn.NewLayerNorm(w, pre+"norm1", d, eps)
			b.norm2 = *nn.NewLayerNorm(w, pre+"norm2", d, eps)
			qkvW := w.Get(pre+"attn.qkv.weight", 3*d, d)
			var qkvB, table []float32
			if n.v2 {
				qb, vb := w.Get(pre+"attn.q_bias", d), w.Get(pre+"attn.v_bias", d)
				if w.Err() == nil {
					qkvB = make([]float32, 3*d) // timm's k_bias is a zero buffer
					copy(qkvB, qb)
					copy(qkvB[2*d:], vb)
				}
				ls := w.Get(pre+"attn.logit_scale", s.heads, 1, 1)
				fc1w := w.Get(pre+"attn.cpb_mlp.0.weight", cpbHidden, 2)
				fc1b := w.Get(pre+"attn.cpb_mlp.0.bias", cpbHidden)
				fc2w := w.Get(pre+"attn.cpb_mlp.2.weight", s.heads, cpbHidden)
				if w.Err() == nil {
					b.scale = logitScales(ls)
					b.cpb = [3][]float32{fc1w, fc1b, fc2w}
					table, err = cpbTable(b.cpb, s.heads, win, pw)
					if err != nil {
						return nil, fmt.Errorf("%w: stage %d continuous position bias: %v", ErrConfig, si, err)
					}
				}
			} else {
				qkvB = w.Get(pre+"attn.qkv.bias", 3*d)
				table = w.Get(pre+"attn.relative_position_bias_table", s.rows, s.heads)
			}
			if table != nil {
				b.table = headMajor(table, s.rows, s.heads)
			}
			b.qkv = linearAfter(&b.norm1, pre+"attn.qkv", qkvW, qkvB, 3*d, d)
			b.proj = linear(pre+"attn.proj", w.Get(pre+"attn.proj.weight", d, d), w.Get(pre+"attn.proj.bias", d), d, d)
			fc1 := linearAfter(&b.norm2, pre+"mlp.fc1", w.Get(pre+"mlp.fc1.weight", hidden, d), w.Get(pre+"mlp.fc1.bias", hidden), hidden, d)
			fc2 := linear(pre+"mlp.fc2", w.Get(pre+"mlp.fc2.weight", d, hidden), w.Get(pre+"mlp.fc2.bias", d), d, hidden)
			b.mlp = nn.MLP{FC1: fc1, FC2: fc2, Act: kernels.ActGELU}
			if bi%2 == 1 {
				b.shift = shift
			}
		}
	}
	nf := c.NumFeatures()
	n.norm = *nn.NewLayerNorm(w, "norm", nf, eps)
	if c.GlobalPool != "" {
		n.head.Pool = nn.PoolAvg
	}
	if c.NumClasses > 0 {
		h := linear("head.fc", w.Get("head.fc.weight", c.NumClasses, nf), w.Get("head.fc.bias", c.NumClasses), c.NumClasses, nf)
		n.head.Classifiers = []nn.Linear{h}
	}
	if err := w.Finish(); err != nil {
		return nil, err
	}
	return n, nil
}

// derived reports the buffers that older checkpoints saved beside the
// weights and that timm's checkpoint filter drops: each is computed from
// the configuration (the relative position index, V2's coordinate table,
// the shifted-window mask).
func derived(name string) bool {
	for _, b := range []string{".relative_position_index", ".relative_coords_table", ".attn_mask"} {
		if strings.HasSuffix(name, b) {
			return true
		}
	}
	return false
}

// headMajor turns a rows×heads table (timm's layout) into heads×rows, so
// that one head's bias is gathered from contiguous values.
func headMajor(t []float32, rows, heads int) []float32 {
	out := make([]float32, len(t))
	for r := 0; r < rows; r++ {
		for h := 0; h < heads; h++ {
			out[h*rows+r] = t[r*heads+h]
		}
	}
	return out
}

// logitScales is timm's torch.clamp(logit_scale, max=log(1/0.01)).exp(),
// in float32 as PyTorch computes it.
func logitScales(ls []float32) []float32 {
	limit := float32(math.Log(100))
	out := make([]float32, len(ls))
	for i, v := range ls {
		out[i] = float32(math.Exp(float64(min(v, limit))))
	}
	return out
}

// cpbTable is Swin V2's continuous position bias for a window:
// 16·sigmoid(cpb_mlp(log-spaced offsets)), (2H-1)·(2W-1) rows × heads.
// A zero pretrained window normalises the offsets by the window itself.
func cpbTable(fc [3][]float32, heads int, win posenc.Grid, pretrained [2]int) ([]float32, error) {
	cpb, err := posenc.NewCPB(fc[0], fc[1], fc[2], heads, cpbHidden, posenc.Grid{H: pretrained[0], W: pretrained[1]})
	if err != nil {
		return nil, err
	}
	return cpb.Table(win)
}
