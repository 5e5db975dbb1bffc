package beit

import (
	"fmt"
	"strconv"

	"github.com/anyres/anyres/nn"
)

// The transformers classes this family runs, and their backbone's prefix.
var hfClasses = map[string]string{"BeitModel": "", "BeitForImageClassification": "beit."}

// hfClassList lists them (nn.Family.Transformers).
func hfClassList() []string { return []string{"BeitModel", "BeitForImageClassification"} }

// hfClaims: a transformers BEiT class, or (no architectures) its model_type.
func hfClaims(arch string) bool {
	_, ok := hfClasses[arch]
	return ok || arch == "beit"
}

// fromTransformers reads a transformers BEiT checkpoint: the config as
// this family's, the tensors under timm's names (q, k and v weights joined
// once, here), and which transformers output each Output field is.
func fromTransformers(ck nn.Checkpoint, t *nn.Transformers) (Config, nn.Checkpoint, *nn.TransformersInfo, error) {
	class := t.Class
	if class == "" {
		class = "BeitModel"
		if ck.Has("classifier.weight") {
			class = "BeitForImageClassification"
		}
	}
	p, ok := hfClasses[class]
	if !ok || t.ModelType != "beit" {
		return Config{}, nil, nil, fmt.Errorf("%w: config.json architectures %q, model_type %q: not a BEiT class anyres runs (%v)", ErrConfig, t.Class, t.ModelType, hfClassList())
	}
	if patch := p + "embeddings.patch_embeddings.projection.weight"; !ck.Has(patch) {
		return Config{}, nil, nil, fmt.Errorf("%w: config.json architectures says %s, but the file has no %q (it holds another class, or another model)", ErrConfig, class, patch)
	}
	const maxInt = 1 << 16
	c := Config{Architecture: class, InChans: 3, QKVBias: true, RelBiasInterp: true}
	c.EmbedDim = t.Int("hidden_size", 768, 1, maxInt)
	c.Depth = t.Int("num_hidden_layers", 12, 1, 1<<10)
	c.NumHeads = t.Int("num_attention_heads", 12, 1, maxInt)
	c.MLPHidden = t.Int("intermediate_size", 3072, 1, 1<<20)
	c.ImgSize = t.Size("image_size", [2]int{224, 224})
	c.PatchSize = t.Size("patch_size", [2]int{16, 16})
	c.InChans = t.Int("num_channels", 3, 1, 64)
	c.NormEps = t.Float("layer_norm_eps", 1e-12, 0, 1)
	c.Act = t.Act("hidden_act", "gelu")
	c.AbsPosEmbed = t.Bool("use_absolute_position_embeddings", false)
	c.RelPosBias = t.Bool("use_relative_position_bias", false)
	c.SharedRelPosBias = t.Bool("use_shared_relative_position_bias", false)
	c.LayerScale = t.Float("layer_scale_init_value", 0.1, -1, 1e6) > 0
	mean := t.Bool("use_mean_pooling", true)
	if err := t.Err(); err != nil {
		return Config{}, nil, nil, err
	}
	if c.EmbedDim%c.NumHeads != 0 {
		return Config{}, nil, nil, fmt.Errorf("%w: config.json hidden_size %d does not split into num_attention_heads %d", ErrConfig, c.EmbedDim, c.NumHeads)
	}
	// transformers' BeitModel: the final layernorm is an identity with
	// mean pooling, whose pooler norms the mean instead.
	c.FinalNorm, c.FCNorm, c.GlobalPool = !mean, mean, "avg"
	if !mean {
		c.GlobalPool = "token"
	}
	if class == "BeitForImageClassification" {
		s, err := ck.Shape("classifier.weight")
		if err != nil || len(s) != 2 {
			return Config{}, nil, nil, fmt.Errorf("%w: \"classifier.weight\": the classifier of a %s is missing or not a matrix", ErrWeight, class)
		}
		c.NumClasses = s[0]
		if n := t.NumLabels(); n != 0 && n != c.NumClasses {
			return Config{}, nil, nil, fmt.Errorf("%w: config.json id2label has %d classes, the classifier \"classifier.weight\" %d", ErrConfig, n, c.NumClasses)
		}
	}

	r := nn.NewRenamed(ck, func(n string) bool { return n == p+"embeddings.mask_token" })
	e := p + "embeddings."
	r.Map("cls_token", e+"cls_token")
	r.Map("pos_embed", e+"position_embeddings")
	r.Map("patch_embed.proj.weight", e+"patch_embeddings.projection.weight")
	r.Map("patch_embed.proj.bias", e+"patch_embeddings.projection.bias")
	r.Map("rel_pos_bias.relative_position_bias_table", p+"encoder.relative_position_bias.relative_position_bias_table")
	for i := 0; i < c.Depth; i++ {
		b, s := "blocks."+strconv.Itoa(i)+".", p+"encoder.layer."+strconv.Itoa(i)+"."
		a := s + "attention.attention."
		r.Join(b+"attn.qkv.weight", nil, nn.Piece{Name: a + "query.weight"}, nn.Piece{Name: a + "key.weight"}, nn.Piece{Name: a + "value.weight"})
		r.Map(b+"attn.q_bias", a+"query.bias")
		r.Map(b+"attn.v_bias", a+"value.bias")
		r.Map(b+"attn.relative_position_bias_table", a+"relative_position_bias.relative_position_bias_table")
		r.Map(b+"gamma_1", s+"lambda_1")
		r.Map(b+"gamma_2", s+"lambda_2")
		for _, x := range []string{".weight", ".bias"} {
			r.Map(b+"attn.proj"+x, s+"attention.output.dense"+x)
			r.Map(b+"norm1"+x, s+"layernorm_before"+x)
			r.Map(b+"norm2"+x, s+"layernorm_after"+x)
			r.Map(b+"mlp.fc1"+x, s+"intermediate.dense"+x)
			r.Map(b+"mlp.fc2"+x, s+"output.dense"+x)
		}
	}
	for _, x := range []string{".weight", ".bias"} {
		r.Map("norm"+x, p+"layernorm"+x)
		r.Map("fc_norm"+x, p+"pooler.layernorm"+x)
		r.Map("head"+x, "classifier"+x)
	}
	// Both classes build BeitModel's pooler: the normed mean, or token 0.
	info := &nn.TransformersInfo{Class: class, Tokens: "last_hidden_state", Pooled: []string{"pooler_output"}}
	if c.NumClasses > 0 {
		info.Logits = "logits"
	}
	return c, r, info, nil
}
