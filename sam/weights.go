package sam

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// block is one pre-norm block; windowed or global by the config.
type block struct {
	norm1, norm2 nn.LayerNorm
	qkv, proj    nn.Linear
	qkvBias      []float32 // what a zero-padded window row becomes after qkv (nil: zeros)
	relPos       *posenc.DecomposedRelPos
	mlp          nn.MLP
}

// weights are a loaded model's layers.
type weights struct {
	patch  nn.PatchEmbed
	pos    *posenc.Learned // nil without a table
	blocks []block
	// The neck: 1×1 conv, LayerNorm2d, 3×3 conv (padding 1), LayerNorm2d,
	// all without bias; nil neck1 for none.
	neck1, neck2 *kernels.PackedB
	norm1, norm2 *nn.LayerNorm
	head         *nn.Linear // nil without classes
}

// layers reads every tensor the config calls for, by timm state_dict name;
// a tensor of the source that nothing reads is an error naming it.
func layers(c Config, src nn.Source, o options) (*weights, error) {
	w := nn.NewWeights(src)
	w.AllowNonFinite, w.Ignore = o.AllowNonFinite, o.Ignore
	lin := nn.NewLinears(w, o.Precision)
	d, hd, p := c.Dim, c.HeadDim(), c.Patch
	r := &weights{blocks: make([]block, c.Depth)}
	k := w.Get("patch_embed.proj.weight", d, c.InChans, p, p)
	kb := w.Get("patch_embed.proj.bias", d)
	if w.Err() == nil {
		r.patch = nn.NewPatchEmbed(k, kb, d, c.InChans, [2]int{p, p})
	}
	if c.PosGrid != ([2]int{}) {
		g := posenc.Grid{H: c.PosGrid[0], W: c.PosGrid[1]}
		t := w.Get("pos_embed", 1, g.H, g.W, d)
		if w.Err() == nil {
			// timm resample_abs_pos_embed_nhwc: bicubic, antialias, the
			// table as it is when the grid matches.
			pos, err := posenc.NewLearned(t, 0, g, d, o.resample())
			if err != nil {
				w.Fail(fmt.Errorf("%w: pos_embed: %v", nn.ErrWeight, err))
			}
			r.pos = pos
		}
	}
	for i := range r.blocks {
		b, bp := &r.blocks[i], fmt.Sprintf("blocks.%d.", i)
		b.norm1 = *nn.NewLayerNorm(w, bp+"norm1", d, blockEps)
		qkv := nn.ReadQKV(w, bp+"attn.", d)
		b.qkvBias = qkv.B
		proj := nn.RawLinear{Names: []string{bp + "attn.proj"}, W: w.Get(bp+"attn.proj.weight", d, d), B: w.Get(bp+"attn.proj.bias", d), Out: d, In: d}
		if c.RelPos {
			rows := 2*c.Window - 1
			var rh, rw []float32
			if c.IsGlobal(i) {
				// Sized by the training grid; any size serves (get_rel_pos
				// resizes), so the file says how many rows.
				rh = w.Get(bp+"attn.rel_pos_h", rowsOf(src, bp+"attn.rel_pos_h", c.PosGrid[0]), hd)
				rw = w.Get(bp+"attn.rel_pos_w", rowsOf(src, bp+"attn.rel_pos_w", c.PosGrid[1]), hd)
			} else {
				rh = w.Get(bp+"attn.rel_pos_h", rows, hd)
				rw = w.Get(bp+"attn.rel_pos_w", rows, hd)
			}
			if w.Err() == nil {
				rp, err := posenc.NewDecomposedRelPos(rh, len(rh)/hd, rw, len(rw)/hd, hd)
				if err != nil {
					w.Fail(fmt.Errorf("%w: %sattn.rel_pos_h/w: %v", nn.ErrWeight, bp, err))
				}
				b.relPos = rp
			}
		}
		b.norm2 = *nn.NewLayerNorm(w, bp+"norm2", d, blockEps)
		mlp := nn.ReadMLP(w, bp+"mlp.", nn.MLPPlain, d, c.MLPHidden, kernels.ActGELU, false, 0)
		if w.Err() == nil {
			// norm1 and norm2 feed qkv and fc1 alone: int8 layers take
			// their affine parts (outlier channels). Padded window rows
			// still get the original bias (qkvBias, read before the fold).
			b.qkv, b.proj = lin.BuildAfter(&b.norm1, qkv, nil), lin.Build(proj, nil)
			b.mlp = mlp.BuildAfter(lin, &b.norm2, nil)
		}
	}
	if nc := c.NeckChans; nc > 0 {
		k1 := w.Get("neck.0.weight", nc, d, 1, 1)
		r.norm1 = nn.NewLayerNorm(w, "neck.1", nc, neckEps)
		k3 := w.Get("neck.2.weight", nc, nc, 3, 3)
		r.norm2 = nn.NewLayerNorm(w, "neck.3", nc, neckEps)
		if w.Err() == nil {
			r.neck1 = kernels.PackB(true, d, nc, k1, d)
			r.neck2 = kernels.PackB(true, 9*nc, nc, nn.KernelHWC(k3, nc, nc, 3, 3), 9*nc)
		}
	}
	if c.NumClasses > 0 {
		od := c.OutDim()
		wt, bt := w.Get("head.fc.weight", c.NumClasses, od), w.Get("head.fc.bias", c.NumClasses)
		if w.Err() == nil {
			h := lin.New("head.fc", wt, bt, c.NumClasses, od, nil)
			r.head = &h
		}
	}
	if err := w.Finish(); err != nil {
		return nil, err
	}
	return r, nil
}

// rowsOf is the first dimension of a 2-D tensor of src; when it is missing
// or not 2-D, the rows timm gives a global block on the training grid
// (side: the table's side), so that Get names the shape it wants.
func rowsOf(src nn.Source, name string, side int) int {
	if src.Has(name) {
		if _, s, err := src.Float32(name); err == nil && len(s) == 2 && s[0] > 0 && s[0] <= 1<<16 {
			return s[0]
		}
	}
	return 2*side - 1
}
