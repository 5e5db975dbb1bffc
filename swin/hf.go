package swin

import (
	"fmt"
	"strconv"

	"github.com/anyres/anyres/nn"
)

// The transformers classes this family runs, by model_type.
var hfClasses = map[string]string{"SwinModel": "swin", "Swinv2Model": "swinv2"}

func hfClassList() []string { return []string{"SwinModel", "Swinv2Model"} }

// hfClaims: a transformers Swin class, or (no architectures) its model_type.
func hfClaims(arch string) bool {
	_, ok := hfClasses[arch]
	return ok || arch == "swin" || arch == "swinv2"
}

// fromTransformers reads a transformers SwinModel or Swinv2Model
// checkpoint: the config as this family's (with transformers' order of
// padding and shifting, and v1's shift decided per input), the tensors
// under timm's names (q, k and v joined once, here; the patch merging at
// the end of stage S is timm's at the start of stage S+1), and which
// transformers output each Output field is.
func fromTransformers(ck nn.Checkpoint, t *nn.Transformers) (Config, nn.Checkpoint, *nn.TransformersInfo, error) {
	class := t.Class
	if class == "" {
		class = map[string]string{"swin": "SwinModel", "swinv2": "Swinv2Model"}[t.ModelType]
	}
	mt, ok := hfClasses[class]
	if !ok || mt != t.ModelType {
		return Config{}, nil, nil, fmt.Errorf("%w: config.json architectures %q, model_type %q: not a Swin class anyres runs (%v)", ErrConfig, t.Class, t.ModelType, hfClassList())
	}
	v2 := mt == "swinv2"
	c := Config{Version: 1, PadThenShift: true, ShiftPerInput: !v2, PatchNormEps: 1e-5, GlobalPool: "avg"}
	if v2 {
		c.Version = 2
	}
	c.EmbedDim = t.Int("embed_dim", 96, 1, 1<<14)
	c.Depths = t.Ints("depths", []int{2, 2, 6, 2}, 0, 64)
	c.NumHeads = t.Ints("num_heads", []int{3, 6, 12, 24}, 1, 1<<12)
	w := t.Int("window_size", 7, 1, 64)
	c.WindowSize = [2]int{w, w}
	c.PatchSize = t.Size("patch_size", [2]int{4, 4})
	c.ImgSize = t.Size("image_size", [2]int{224, 224})
	c.InChans = t.Int("num_channels", 3, 1, 64)
	c.MLPRatio = t.Float("mlp_ratio", 4, 0, 64)
	c.NormEps = t.Float("layer_norm_eps", 1e-5, 0, 1)
	if v2 {
		c.PretrainedWindowSizes = t.Ints("pretrained_window_sizes", nil, 0, 64)
		if len(c.PretrainedWindowSizes) > 0 {
			allZero := true
			for _, p := range c.PretrainedWindowSizes {
				allZero = allZero && p == 0
			}
			if allZero {
				c.PretrainedWindowSizes = nil // transformers' default: each stage's own window
			}
		}
	}
	if act := t.Act("hidden_act", "gelu"); act != "gelu_erf" {
		return Config{}, nil, nil, fmt.Errorf("%w: config.json hidden_act %q: anyres runs Swin with gelu only", ErrConfig, t.String("hidden_act", ""))
	}
	qkvBias := t.Bool("qkv_bias", true)
	if t.Bool("use_absolute_embeddings", false) {
		return Config{}, nil, nil, fmt.Errorf("%w: config.json use_absolute_embeddings true: anyres runs Swin without an absolute table", ErrConfig)
	}
	if err := t.Err(); err != nil {
		return Config{}, nil, nil, err
	}
	if !qkvBias {
		return Config{}, nil, nil, fmt.Errorf("%w: config.json qkv_bias false: anyres runs Swin with q/k/v biases only", ErrConfig)
	}
	if err := c.Validate(); err != nil {
		return Config{}, nil, nil, err
	}
	if p := "embeddings.patch_embeddings.projection.weight"; !ck.Has(p) {
		return Config{}, nil, nil, fmt.Errorf("%w: config.json architectures says %s, but the file has no %q (it holds another class, or another model)", ErrConfig, class, p)
	}

	r := nn.NewRenamed(ck, nil)
	for _, x := range []string{".weight", ".bias"} {
		r.Map("patch_embed.proj"+x, "embeddings.patch_embeddings.projection"+x)
		r.Map("patch_embed.norm"+x, "embeddings.norm"+x)
		r.Map("norm"+x, "layernorm"+x)
	}
	for si, depth := range c.Depths {
		hs := "encoder.layers." + strconv.Itoa(si) + "."
		if si+1 < len(c.Depths) {
			ts := "layers." + strconv.Itoa(si+1) + ".downsample."
			r.Map(ts+"reduction.weight", hs+"downsample.reduction.weight")
			r.Map(ts+"norm.weight", hs+"downsample.norm.weight")
			r.Map(ts+"norm.bias", hs+"downsample.norm.bias")
		}
		for bi := 0; bi < depth; bi++ {
			b := "layers." + strconv.Itoa(si) + ".blocks." + strconv.Itoa(bi) + "."
			s := hs + "blocks." + strconv.Itoa(bi) + "."
			a := s + "attention.self."
			r.Join(b+"attn.qkv.weight", nil, nn.Piece{Name: a + "query.weight"}, nn.Piece{Name: a + "key.weight"}, nn.Piece{Name: a + "value.weight"})
			if v2 {
				r.Map(b+"attn.q_bias", a+"query.bias")
				r.Map(b+"attn.v_bias", a+"value.bias")
				r.Map(b+"attn.logit_scale", a+"logit_scale")
				r.Map(b+"attn.cpb_mlp.0.weight", a+"continuous_position_bias_mlp.0.weight")
				r.Map(b+"attn.cpb_mlp.0.bias", a+"continuous_position_bias_mlp.0.bias")
				r.Map(b+"attn.cpb_mlp.2.weight", a+"continuous_position_bias_mlp.2.weight")
			} else {
				r.Join(b+"attn.qkv.bias", nil, nn.Piece{Name: a + "query.bias"}, nn.Piece{Name: a + "key.bias"}, nn.Piece{Name: a + "value.bias"})
				r.Map(b+"attn.relative_position_bias_table", a+"relative_position_bias_table")
			}
			for _, x := range []string{".weight", ".bias"} {
				r.Map(b+"attn.proj"+x, s+"attention.output.dense"+x)
				r.Map(b+"norm1"+x, s+"layernorm_before"+x)
				r.Map(b+"norm2"+x, s+"layernorm_after"+x)
				r.Map(b+"mlp.fc1"+x, s+"intermediate.dense"+x)
				r.Map(b+"mlp.fc2"+x, s+"output.dense"+x)
			}
		}
	}
	return c, r, &nn.TransformersInfo{Class: class, Tokens: "last_hidden_state", Pooled: []string{"pooler_output"}}, nil
}
