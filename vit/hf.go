package vit

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/anyres/anyres/nn"
)

// The transformers classes this family runs, by the layout of their files:
// which backbone (and its prefix), which head.
type hfClass struct {
	layout string // "vit", "deit", "dinov2", "clip", "siglip"
	prefix string // of the backbone's tensors
	head   string // "" (backbone only), "classifier", "distilled", "projection", "full" (whole CLIP/SigLIP: text tower skipped)
}

var hfClasses = map[string]hfClass{
	"ViTModel":                              {"vit", "", ""},
	"ViTForImageClassification":             {"vit", "vit.", "classifier"},
	"DeiTForImageClassificationWithTeacher": {"deit", "deit.", "distilled"},
	"Dinov2Model":                           {"dinov2", "", ""},
	"Dinov2ForImageClassification":          {"dinov2", "dinov2.", "classifier"},
	"CLIPVisionModel":                       {"clip", "vision_model.", ""},
	"CLIPVisionModelWithProjection":         {"clip", "vision_model.", "projection"},
	"CLIPModel":                             {"clip", "vision_model.", "full"},
	"SiglipVisionModel":                     {"siglip", "vision_model.", ""},
	"SiglipModel":                           {"siglip", "vision_model.", "full"},
}

// hfModelTypes is the model_type each layout's config.json states.
var hfModelTypes = map[string][]string{
	"vit": {"vit"}, "deit": {"deit"}, "dinov2": {"dinov2"},
	"clip": {"clip", "clip_vision_model"}, "siglip": {"siglip", "siglip_vision_model"},
}

// hfClaims: a transformers class of the family, or (a config.json without
// architectures) its model_type.
func hfClaims(arch string) bool {
	if _, ok := hfClasses[arch]; ok {
		return true
	}
	for _, mts := range hfModelTypes {
		for _, mt := range mts {
			if arch == mt {
				return true
			}
		}
	}
	return false
}

// HFClasses lists the transformers classes the family runs.
func HFClasses() []string {
	var out []string
	for c := range hfClasses {
		out = append(out, c)
	}
	return out
}

// hfClassFor is the class of a config.json: architectures[0], or, without
// it, the base class of its model_type (with the classifier when the file
// holds one).
func hfClassFor(t *nn.Transformers, ck nn.Checkpoint) string {
	if t.Class != "" {
		return t.Class
	}
	switch t.ModelType {
	case "vit":
		if ck.Has("classifier.weight") {
			return "ViTForImageClassification"
		}
		return "ViTModel"
	case "dinov2":
		if ck.Has("classifier.weight") {
			return "Dinov2ForImageClassification"
		}
		return "Dinov2Model"
	case "deit":
		return "DeiTForImageClassificationWithTeacher"
	case "clip":
		return "CLIPModel"
	case "clip_vision_model":
		return "CLIPVisionModel"
	case "siglip":
		return "SiglipModel"
	case "siglip_vision_model":
		return "SiglipVisionModel"
	}
	return ""
}

// fromTransformers reads a transformers checkpoint: the config as this
// family's, the tensors under timm's names (q, k and v joined once, here),
// and which transformers output each Output field is.
func fromTransformers(ck nn.Checkpoint, t *nn.Transformers) (Config, nn.Checkpoint, *nn.TransformersInfo, error) {
	name := hfClassFor(t, ck)
	cl, ok := hfClasses[name]
	if !ok {
		return Config{}, nil, nil, fmt.Errorf("%w: config.json architectures %q (model_type %q): not a class this family runs", nn.ErrConfig, t.Class, t.ModelType)
	}
	typeOK := false
	for _, mt := range hfModelTypes[cl.layout] {
		typeOK = typeOK || mt == t.ModelType
	}
	if !typeOK {
		return Config{}, nil, nil, fmt.Errorf("%w: config.json model_type %q does not go with architectures %q (want %q)", nn.ErrConfig, t.ModelType, name, hfModelTypes[cl.layout][0])
	}
	p := cl.prefix
	patch := p + "embeddings.patch_embeddings.projection.weight"
	if cl.layout == "clip" || cl.layout == "siglip" {
		patch = p + "embeddings.patch_embedding.weight"
	}
	if !ck.Has(patch) {
		return Config{}, nil, nil, fmt.Errorf("%w: config.json architectures says %s, but the file has no %q (it holds another class, or another model)", nn.ErrConfig, name, patch)
	}
	vc := t
	if cl.layout == "clip" || cl.layout == "siglip" {
		if t.ModelType == "clip" || t.ModelType == "siglip" {
			vc = t.Sub("vision_config")
		}
	}
	c, err := hfConfig(cl, vc)
	if err == nil {
		err = t.Err()
	}
	if err != nil {
		return Config{}, nil, nil, err
	}
	if cl.layout == "vit" && cl.head == "" {
		c.Pooler = ck.Has(p + "pooler.dense.weight")
	}
	if err := hfHead(&c, cl, t, ck); err != nil {
		return Config{}, nil, nil, err
	}
	info := &nn.TransformersInfo{Class: name, Tokens: "last_hidden_state"}
	r := nn.NewRenamed(ck, hfSkip(cl))
	hfEmbeddings(r, cl, c)
	for i := 0; i < c.Depth; i++ {
		hfBlock(r, cl, i)
	}
	switch cl.layout {
	case "clip":
		r.Map("norm_pre.weight", p+"pre_layrnorm.weight")
		r.Map("norm_pre.bias", p+"pre_layrnorm.bias")
		r.Map("fc_norm.weight", p+"post_layernorm.weight")
		r.Map("fc_norm.bias", p+"post_layernorm.bias")
		info.Pooled = []string{"pooler_output"}
	case "siglip":
		r.Map("norm.weight", p+"post_layernorm.weight")
		r.Map("norm.bias", p+"post_layernorm.bias")
		d := c.EmbedDim
		h := p + "head."
		r.Join("attn_pool.latent", nil, nn.Piece{Name: h + "probe"})
		r.Join("attn_pool.q.weight", nil, nn.Piece{Name: h + "attention.in_proj_weight", Hi: d})
		r.Join("attn_pool.kv.weight", nil, nn.Piece{Name: h + "attention.in_proj_weight", Lo: d, Hi: 3 * d})
		r.Join("attn_pool.q.bias", nil, nn.Piece{Name: h + "attention.in_proj_bias", Hi: d})
		r.Join("attn_pool.kv.bias", nil, nn.Piece{Name: h + "attention.in_proj_bias", Lo: d, Hi: 3 * d})
		for _, l := range [][2]string{{"proj", "attention.out_proj"}, {"norm", "layernorm"}, {"mlp.fc1", "mlp.fc1"}, {"mlp.fc2", "mlp.fc2"}} {
			r.Map("attn_pool."+l[0]+".weight", h+l[1]+".weight")
			r.Map("attn_pool."+l[0]+".bias", h+l[1]+".bias")
		}
		if c.GlobalPool == "map" {
			info.Pooled = []string{"pooler_output"}
			if cl.head == "full" {
				info.Pooled = append(info.Pooled, "image_embeds")
			}
		}
	default:
		r.Map("norm.weight", p+"layernorm.weight")
		r.Map("norm.bias", p+"layernorm.bias")
		if c.Pooler {
			r.Map("pooler.dense.weight", p+"pooler.dense.weight")
			r.Map("pooler.dense.bias", p+"pooler.dense.bias")
		}
		if cl.head == "" && c.Pooler || cl.layout == "dinov2" && cl.head == "" {
			info.Pooled = []string{"pooler_output"}
		}
	}
	switch cl.head {
	case "classifier":
		r.Map("head.weight", "classifier.weight")
		r.Map("head.bias", "classifier.bias")
		info.Logits = "logits"
	case "distilled":
		r.Map("head.weight", "cls_classifier.weight")
		r.Map("head.bias", "cls_classifier.bias")
		r.Map("head_dist.weight", "distillation_classifier.weight")
		r.Map("head_dist.bias", "distillation_classifier.bias")
		info.Logits = "logits"
	case "projection", "full":
		if cl.layout == "clip" {
			r.Map("head.weight", "visual_projection.weight")
			info.Logits = "image_embeds"
		}
	}
	if n := len(r.Skipped()); n > 0 && cl.head == "full" {
		info.Skipped = fmt.Sprintf("skipped the text tower of the %s: %d tensors (text_model.*, %s)", name, n, strings.Join(textExtras[cl.layout], ", "))
	}
	return c, r, info, nil
}

// The text side of a whole CLIP or SigLIP model, beside text_model.*.
var textExtras = map[string][]string{"clip": {"text_projection.weight", "logit_scale"}, "siglip": {"logit_scale", "logit_bias"}}

// hfSkip names the stored tensors that are not weights of the vision
// model: derived buffers, the unused mask token, and for whole CLIP and
// SigLIP models their text tower.
func hfSkip(cl hfClass) func(string) bool {
	return func(n string) bool {
		switch {
		case n == cl.prefix+"embeddings.position_ids", n == cl.prefix+"embeddings.mask_token":
			return true
		case cl.head == "full" && strings.HasPrefix(n, "text_model."):
			return true
		case cl.head == "full":
			for _, x := range textExtras[cl.layout] {
				if n == x {
					return true
				}
			}
		}
		return false
	}
}

// hfConfig reads the architecture's fields, with each class's defaults.
func hfConfig(cl hfClass, t *nn.Transformers) (Config, error) {
	const maxInt = 1 << 20
	c := Config{PosEmbed: "learn", ClassToken: true, FinalNorm: true, GlobalPool: "token", QKVBias: true}
	dim, depth, heads, img, patch, eps, act := 768, 12, 12, 224, 16, 1e-12, "gelu"
	switch cl.layout {
	case "dinov2":
		img, patch, eps = 518, 14, 1e-6
	case "clip":
		patch, eps, act = 32, 1e-5, "quick_gelu"
	case "siglip":
		eps, act = 1e-6, "gelu_pytorch_tanh"
	}
	c.EmbedDim = t.Int("hidden_size", dim, 1, maxDim)
	c.Depth = t.Int("num_hidden_layers", depth, 0, maxDepth)
	c.NumHeads = t.Int("num_attention_heads", heads, 1, maxDim)
	c.ImgSize = t.Size("image_size", [2]int{img, img})
	c.PatchSize = t.Size("patch_size", [2]int{patch, patch})
	c.InChans = t.Int("num_channels", 3, 1, maxChannels)
	c.NormEps = t.Float("layer_norm_eps", eps, 0, 1)
	c.Act = t.Act("hidden_act", act)
	if cl.layout == "dinov2" {
		c.MLPHidden = int(float64(c.EmbedDim) * t.Float("mlp_ratio", 4, 0, 64))
		c.LayerScale = true
		if t.Bool("use_swiglu_ffn", false) {
			return Config{}, fmt.Errorf("%w: config.json use_swiglu_ffn true: anyres runs Dinov2 with the plain MLP only", nn.ErrConfig)
		}
	} else {
		c.MLPHidden = t.Int("intermediate_size", 4*c.EmbedDim, 1, 16*maxDim)
	}
	if cl.layout == "vit" || cl.layout == "dinov2" {
		c.QKVBias = t.Bool("qkv_bias", true)
	}
	switch cl.layout {
	case "deit":
		c.DistToken = true
	case "clip":
		c.NoPatchBias, c.PreNorm, c.FinalNorm, c.FCNorm = true, true, false, true
	case "siglip":
		c.ClassToken, c.GlobalPool, c.AttnPoolLatents = false, "", 1
		if t.Bool("vision_use_head", true) {
			c.GlobalPool = "map"
		}
	}
	if err := t.Err(); err != nil {
		return Config{}, err
	}
	if c.EmbedDim%c.NumHeads != 0 {
		return Config{}, fmt.Errorf("%w: config.json %shidden_size %d does not split into num_attention_heads %d", nn.ErrConfig, t.Where(), c.EmbedDim, c.NumHeads)
	}
	return c, nil
}

// hfHead sets the head's config: the classes (the classifier's rows,
// which id2label must agree with), or CLIP's projection width.
func hfHead(c *Config, cl hfClass, t *nn.Transformers, ck nn.Checkpoint) error {
	var stored string
	switch cl.head {
	case "classifier":
		stored = "classifier.weight"
		if cl.layout == "dinov2" {
			c.GlobalPool = "token_avg"
		}
	case "distilled":
		stored = "cls_classifier.weight"
	case "projection", "full":
		if cl.layout != "clip" {
			return nil
		}
		c.NumClasses, c.NoHeadBias = t.Int("projection_dim", 512, 1, maxDim), true
		return t.Err()
	default:
		return nil
	}
	s, err := ck.Shape(stored)
	if err != nil || len(s) != 2 || s[0] < 1 || s[0] > maxClasses {
		return fmt.Errorf("%w: %q: the classifier of a %s is missing or not a matrix", nn.ErrWeight, stored, t.Class)
	}
	c.NumClasses = s[0]
	if n := t.NumLabels(); n != 0 && n != c.NumClasses {
		return fmt.Errorf("%w: config.json id2label has %d classes, the classifier %q %d", nn.ErrConfig, n, stored, c.NumClasses)
	}
	return nil
}

// hfEmbeddings maps the patch embedding, prefix tokens and position table.
func hfEmbeddings(r *nn.Renamed, cl hfClass, c Config) {
	p := cl.prefix + "embeddings."
	d := c.EmbedDim
	if cl.layout == "clip" || cl.layout == "siglip" {
		r.Map("patch_embed.proj.weight", p+"patch_embedding.weight")
		r.Map("patch_embed.proj.bias", p+"patch_embedding.bias")
		r.Join("cls_token", []int{1, 1, d}, nn.Piece{Name: p + "class_embedding"})
		if s, err := r.Shape(p + "position_embedding.weight"); err == nil && len(s) == 2 {
			r.Join("pos_embed", []int{1, s[0], s[1]}, nn.Piece{Name: p + "position_embedding.weight"})
		}
		return
	}
	r.Map("patch_embed.proj.weight", p+"patch_embeddings.projection.weight")
	r.Map("patch_embed.proj.bias", p+"patch_embeddings.projection.bias")
	r.Map("cls_token", p+"cls_token")
	r.Map("dist_token", p+"distillation_token")
	r.Map("pos_embed", p+"position_embeddings")
}

// hfBlock maps block i.
func hfBlock(r *nn.Renamed, cl hfClass, i int) {
	b := "blocks." + strconv.Itoa(i) + "."
	if cl.layout == "clip" || cl.layout == "siglip" {
		s := cl.prefix + "encoder.layers." + strconv.Itoa(i) + "."
		for _, x := range []string{"weight", "bias"} {
			r.Join(b+"attn.qkv."+x, nil, nn.Piece{Name: s + "self_attn.q_proj." + x}, nn.Piece{Name: s + "self_attn.k_proj." + x}, nn.Piece{Name: s + "self_attn.v_proj." + x})
			r.Map(b+"attn.proj."+x, s+"self_attn.out_proj."+x)
			r.Map(b+"norm1."+x, s+"layer_norm1."+x)
			r.Map(b+"norm2."+x, s+"layer_norm2."+x)
			r.Map(b+"mlp.fc1."+x, s+"mlp.fc1."+x)
			r.Map(b+"mlp.fc2."+x, s+"mlp.fc2."+x)
		}
		return
	}
	s := cl.prefix + "encoder.layer." + strconv.Itoa(i) + "."
	a := s + "attention.attention."
	norm1, norm2, fc1, fc2 := "layernorm_before", "layernorm_after", "intermediate.dense", "output.dense"
	if cl.layout == "dinov2" {
		norm1, norm2, fc1, fc2 = "norm1", "norm2", "mlp.fc1", "mlp.fc2"
		r.Map(b+"ls1.gamma", s+"layer_scale1.lambda1")
		r.Map(b+"ls2.gamma", s+"layer_scale2.lambda1")
	}
	for _, x := range []string{"weight", "bias"} {
		r.Join(b+"attn.qkv."+x, nil, nn.Piece{Name: a + "query." + x}, nn.Piece{Name: a + "key." + x}, nn.Piece{Name: a + "value." + x})
		r.Map(b+"attn.proj."+x, s+"attention.output.dense."+x)
		r.Map(b+"norm1."+x, s+norm1+"."+x)
		r.Map(b+"norm2."+x, s+norm2+"."+x)
		r.Map(b+"mlp.fc1."+x, s+fc1+"."+x)
		r.Map(b+"mlp.fc2."+x, s+fc2+"."+x)
	}
}
