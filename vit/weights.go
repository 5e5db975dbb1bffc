package vit

import (
	"fmt"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/kernels"
)

// TensorSource is where weights come from: a *tensorfile.File, or a
// MapSource built in code.
type TensorSource = tensorfile.Source

// blockWeights are one transformer block's parameters, matrices packed for
// kernels.GemmPacked.
type blockWeights struct {
	norm1W, norm1B []float32
	qkv            *kernels.PackedB
	qkvB           []float32 // nil without qkv bias
	proj           *kernels.PackedB
	projB          []float32
	norm2W, norm2B []float32
	fc1, fc2       *kernels.PackedB
	fc1B, fc2B     []float32
}

// weights are a model's parameters. Vectors point into the (mapped) file;
// matrices are packed copies.
type weights struct {
	patchKernel      []float32 // [dim, C, ph, pw] as stored, kept for FlexiViT resizing
	patchB           []float32
	cls, reg         []float32 // dim and RegTokens×dim values; nil when absent
	pos              []float32 // posTableRows×dim; nil without a learned table
	normPreW, normPB []float32
	blocks           []blockWeights
	normW, normB     []float32 // final norm
	fcNormW, fcNormB []float32
	head             *kernels.PackedB
	headB            []float32
}

// loader reads named tensors and checks their shapes against the config.
type loader struct {
	src TensorSource
}

// get returns the tensor name, which must have exactly shape want.
func (l loader) get(name string, want ...int) ([]float32, error) {
	v, err := tensorfile.Checked(l.src, name, want...)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrWeight, err)
	}
	return v, nil
}

// loadWeights reads and checks every tensor the config calls for, by timm
// state_dict name, before packing any of them.
func loadWeights(c Config, src TensorSource) (*weights, error) {
	l := loader{src}
	d, C := c.EmbedDim, c.Channels()
	w := &weights{}
	var err error
	get := func(dst *[]float32, name string, shape ...int) {
		if err == nil {
			*dst, err = l.get(name, shape...)
		}
	}
	get(&w.patchKernel, "patch_embed.proj.weight", d, C, c.PatchSize[0], c.PatchSize[1])
	get(&w.patchB, "patch_embed.proj.bias", d)
	if c.ClassToken {
		get(&w.cls, "cls_token", 1, 1, d)
	}
	if c.RegTokens > 0 {
		get(&w.reg, "reg_token", 1, c.RegTokens, d)
	}
	if c.PosEmbed == "learn" {
		get(&w.pos, "pos_embed", 1, c.posTableRows(), d)
	}
	if c.PreNorm {
		get(&w.normPreW, "norm_pre.weight", d)
		get(&w.normPB, "norm_pre.bias", d)
	}
	type raw struct{ qkv, proj, fc1, fc2 []float32 }
	raws := make([]raw, c.Depth)
	w.blocks = make([]blockWeights, c.Depth)
	for i := range w.blocks {
		b, r, p := &w.blocks[i], &raws[i], fmt.Sprintf("blocks.%d.", i)
		get(&b.norm1W, p+"norm1.weight", d)
		get(&b.norm1B, p+"norm1.bias", d)
		get(&r.qkv, p+"attn.qkv.weight", 3*d, d)
		if c.QKVBias {
			get(&b.qkvB, p+"attn.qkv.bias", 3*d)
		}
		get(&r.proj, p+"attn.proj.weight", d, d)
		get(&b.projB, p+"attn.proj.bias", d)
		get(&b.norm2W, p+"norm2.weight", d)
		get(&b.norm2B, p+"norm2.bias", d)
		get(&r.fc1, p+"mlp.fc1.weight", c.MLPHidden, d)
		get(&b.fc1B, p+"mlp.fc1.bias", c.MLPHidden)
		get(&r.fc2, p+"mlp.fc2.weight", d, c.MLPHidden)
		get(&b.fc2B, p+"mlp.fc2.bias", d)
	}
	if c.FinalNorm {
		get(&w.normW, "norm.weight", d)
		get(&w.normB, "norm.bias", d)
	}
	if c.FCNorm {
		get(&w.fcNormW, "fc_norm.weight", d)
		get(&w.fcNormB, "fc_norm.bias", d)
	}
	var head []float32
	if c.NumClasses > 0 {
		get(&head, "head.weight", c.NumClasses, d)
		get(&w.headB, "head.bias", c.NumClasses)
	}
	if err != nil {
		return nil, err
	}
	// Every shape is right: pack the matrices ([out, in] as PyTorch's
	// Linear stores them, hence transB).
	for i := range w.blocks {
		b, r := &w.blocks[i], &raws[i]
		b.qkv = kernels.PackB(true, d, 3*d, r.qkv, d)
		b.proj = kernels.PackB(true, d, d, r.proj, d)
		b.fc1 = kernels.PackB(true, d, c.MLPHidden, r.fc1, d)
		b.fc2 = kernels.PackB(true, c.MLPHidden, d, r.fc2, c.MLPHidden)
	}
	if head != nil {
		w.head = kernels.PackB(true, d, c.NumClasses, head, d)
	}
	return w, nil
}

// MapSource is an in-memory tensor source: name → (values, shape). It lets
// models be built from weights made in code (random weights for benchmarks,
// converted checkpoints).
type MapSource map[string]Tensor

// Tensor is a float32 tensor with its shape.
type Tensor struct {
	Data  []float32
	Shape []int
}

// Float32 returns the tensor's values and shape.
func (s MapSource) Float32(name string) ([]float32, []int, error) {
	t, ok := s[name]
	if !ok {
		return nil, nil, fmt.Errorf("no tensor %q", name)
	}
	return t.Data, t.Shape, nil
}

// Has reports whether the source holds name.
func (s MapSource) Has(name string) bool {
	_, ok := s[name]
	return ok
}

func product(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
