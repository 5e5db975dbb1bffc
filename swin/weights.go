package swin

import (
	"fmt"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/posenc"
)

// TensorSource is where weights come from (a *tensorfile.File).
type TensorSource = tensorfile.Source

// blockWeights are one Swin block's parameters, matrices packed for
// kernels.GemmPacked.
type blockWeights struct {
	norm1W, norm1B []float32
	qkv            *kernels.PackedB
	qkvB           []float32
	proj           *kernels.PackedB
	projB          []float32
	norm2W, norm2B []float32
	fc1, fc2       *kernels.PackedB
	fc1B, fc2B     []float32
	// relBias is the relative position bias gathered once for the window:
	// heads × N × N (N = window area), timm's _get_rel_pos_bias().
	relBias []float32
	shift   [2]int // cyclic shift (0 for even blocks)
}

// stageWeights are one stage: an optional patch merging, then blocks.
type stageWeights struct {
	dim, heads, hidden int
	window             [2]int    // the stage's window (Config.StageWindow)
	mergeNormW         []float32 // nil for the first stage (no merging)
	mergeNormB         []float32
	reduction          *kernels.PackedB
	blocks             []blockWeights
}

// weights are a model's parameters. Vectors point into the (mapped) file;
// matrices are packed copies.
type weights struct {
	patch                  *kernels.PackedB
	patchB                 []float32
	patchNormW, patchNormB []float32
	stages                 []stageWeights
	normW, normB           []float32
	head                   *kernels.PackedB // nil without a head
	headB                  []float32
}

// get returns the tensor name, which must have exactly shape want.
func get(src TensorSource, name string, want ...int) ([]float32, error) {
	v, err := tensorfile.Checked(src, name, want...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWeight, err)
	}
	return v, nil
}

// loadWeights reads and checks every tensor the config calls for, by timm
// state_dict name, then packs the matrices.
func loadWeights(c Config, src TensorSource) (*weights, error) {
	var err error
	vec := func(name string, shape ...int) []float32 {
		if err != nil {
			return nil
		}
		var v []float32
		v, err = get(src, name, shape...)
		return v
	}
	// linear packs a PyTorch Linear weight [out, in].
	linear := func(name string, out, in int) *kernels.PackedB {
		v := vec(name, out, in)
		if err != nil {
			return nil
		}
		return kernels.PackB(true, in, out, v, in)
	}
	d0, p := c.EmbedDim, c.PatchSize
	k := c.InChans * p[0] * p[1]
	w := &weights{}
	if pk := vec("patch_embed.proj.weight", d0, c.InChans, p[0], p[1]); err == nil {
		w.patch = kernels.PackB(true, k, d0, pk, k) // [d, C, ph, pw] read as [d, C·ph·pw]
	}
	w.patchB = vec("patch_embed.proj.bias", d0)
	w.patchNormW = vec("patch_embed.norm.weight", d0)
	w.patchNormB = vec("patch_embed.norm.bias", d0)
	w.stages = make([]stageWeights, len(c.Depths))
	for si := range w.stages {
		s := &w.stages[si]
		s.dim, s.heads, s.hidden = c.StageDim(si), c.NumHeads[si], c.MLPHidden(si)
		d := s.dim
		var shift [2]int
		s.window, shift = c.StageWindow(si)
		win := posenc.Grid{H: s.window[0], W: s.window[1]}
		index, ierr := posenc.RelativePositionIndex(win, false)
		if ierr != nil {
			return nil, fmt.Errorf("%w: stage %d window %v: %v", ErrConfig, si, s.window, ierr)
		}
		tableRows := posenc.RelPosTableRows(win, false)
		n := win.N()
		if si > 0 {
			pre := fmt.Sprintf("layers.%d.downsample.", si)
			in := 4 * c.StageDim(si-1)
			s.mergeNormW = vec(pre+"norm.weight", in)
			s.mergeNormB = vec(pre+"norm.bias", in)
			s.reduction = linear(pre+"reduction.weight", d, in)
		}
		s.blocks = make([]blockWeights, c.Depths[si])
		for bi := range s.blocks {
			b := &s.blocks[bi]
			pre := fmt.Sprintf("layers.%d.blocks.%d.", si, bi)
			b.norm1W = vec(pre+"norm1.weight", d)
			b.norm1B = vec(pre+"norm1.bias", d)
			table := vec(pre+"attn.relative_position_bias_table", tableRows, s.heads)
			b.qkv = linear(pre+"attn.qkv.weight", 3*d, d)
			b.qkvB = vec(pre+"attn.qkv.bias", 3*d)
			b.proj = linear(pre+"attn.proj.weight", d, d)
			b.projB = vec(pre+"attn.proj.bias", d)
			b.norm2W = vec(pre+"norm2.weight", d)
			b.norm2B = vec(pre+"norm2.bias", d)
			b.fc1 = linear(pre+"mlp.fc1.weight", s.hidden, d)
			b.fc1B = vec(pre+"mlp.fc1.bias", s.hidden)
			b.fc2 = linear(pre+"mlp.fc2.weight", d, s.hidden)
			b.fc2B = vec(pre+"mlp.fc2.bias", d)
			if err != nil {
				return nil, err
			}
			b.relBias = make([]float32, s.heads*n*n)
			for h := 0; h < s.heads; h++ {
				for i, r := range index {
					b.relBias[h*n*n+i] = table[int(r)*s.heads+h]
				}
			}
			if bi%2 == 1 {
				b.shift = shift
			}
		}
	}
	nf := c.NumFeatures()
	w.normW = vec("norm.weight", nf)
	w.normB = vec("norm.bias", nf)
	if c.NumClasses > 0 {
		w.head = linear("head.fc.weight", c.NumClasses, nf)
		w.headB = vec("head.fc.bias", c.NumClasses)
	}
	if err != nil {
		return nil, err
	}
	return w, nil
}
