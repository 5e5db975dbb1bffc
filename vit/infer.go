package vit

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/anyres/anyres/nn"
)

// Heads of timm's standard ViT widths. Shapes cannot tell the head count
// (qkv is dim×3·dim whatever the heads), so a checkpoint of another width
// needs model_args.num_heads in its config.json.
var timmHeads = map[int]int{192: 3, 384: 6, 512: 8, 768: 12, 1024: 16, 1280: 16, 1408: 16, 1536: 24, 1664: 16}

// timmName picks the patch size and training size out of a timm name such
// as vit_base_patch16_clip_224.openai or deit3_small_patch16_384.
var timmName = regexp.MustCompile(`^[a-z0-9]+_([a-z]+)_patch(\d+)(?:_[a-z0-9]+)*?_(\d+)(?:[._]|$)`)

// InferConfig builds the architecture of a timm VisionTransformer
// checkpoint (ViT, DeiT, DINOv2, CLIP, SigLIP, FlexiViT) from its tensor
// shapes and timm's hub config.json (nil when there is none): which
// optional tensors exist says which parts the model has; the names of the
// hub config say the rest (norm epsilon, activation, head count, training
// size), with timm's defaults where it is silent.
func InferConfig(ck nn.Checkpoint, hub *nn.HubConfig) (Config, error) {
	shape := func(name string) []int { return nn.ShapeOf(ck, name) }
	c := Config{QKVBias: ck.Has("blocks.0.attn.qkv.bias"), ClassToken: ck.Has("cls_token"), PosEmbed: "learn",
		FCNorm: ck.Has("fc_norm.weight"), FinalNorm: ck.Has("norm.weight"), PreNorm: ck.Has("norm_pre.weight"),
		NormEps: 1e-6, Act: "gelu_erf", InChans: 3,
		LayerScale: ck.Has("blocks.0.ls1.gamma"), DistToken: ck.Has("dist_token"), NoPatchBias: !ck.Has("patch_embed.proj.bias")}
	k := shape("patch_embed.proj.weight")
	if len(k) != 4 || k[0] <= 0 || k[1] <= 0 || k[2] <= 0 || k[3] <= 0 {
		return c, fmt.Errorf("%w: patch_embed.proj.weight has shape %v, want out×in×h×w, all positive (is this a timm ViT?)", ErrConfig, k)
	}
	c.EmbedDim, c.InChans, c.PatchSize = k[0], k[1], [2]int{k[2], k[3]}
	c.Depth = nn.CountBlocks(ck, "blocks.", ".attn.qkv.weight")
	if fc1 := shape("blocks.0.mlp.fc1.weight"); len(fc1) == 2 {
		c.MLPHidden = fc1[0]
	}
	if r := shape("reg_token"); len(r) == 3 {
		c.RegTokens = r[1]
	}
	if h := shape("head.weight"); len(h) == 2 {
		c.NumClasses = h[0]
	}
	if l := shape("attn_pool.latent"); len(l) == 3 {
		c.GlobalPool, c.AttnPoolLatents = "map", l[1]
	}
	var name string
	if hub != nil {
		name = hub.Architecture
	}
	m := timmName.FindStringSubmatch(name)
	switch {
	case strings.Contains(name, "quickgelu"):
		c.Act = "quick_gelu"
	case strings.Contains(name, "gelu_tanh"):
		c.Act = "gelu_tanh"
	}
	if hub != nil {
		c.DynamicImgPad, _ = hub.ModelArgs["dynamic_img_pad"].(bool)
	}
	if strings.Contains(name, "clip") {
		c.NormEps = 1e-5 // timm builds its CLIP ViTs with nn.LayerNorm's default
		if !c.PreNorm {
			// Every timm CLIP tower has norm_pre: weights without it are
			// another model, which the name's eps would run wrongly.
			return c, fmt.Errorf("%w: architecture %q, but the weights have no norm_pre (every CLIP image tower has one)", ErrConfig, name)
		}
	}
	if v, ok, err := hub.Int("num_heads"); err != nil {
		return c, err
	} else if ok {
		c.NumHeads = v
	} else if h := timmHeads[c.EmbedDim]; h > 0 {
		c.NumHeads = h
	} else {
		return c, fmt.Errorf("%w: cannot tell the number of attention heads of a %d-wide model (not a standard timm width); give a config.json with model_args.num_heads", ErrConfig, c.EmbedDim)
	}
	// Training size: model_args img_size, pretrained_cfg input_size, the
	// name's suffix, or a square grid from the table; the table decides.
	rows := 0
	if p := shape("pos_embed"); len(p) == 3 {
		rows = p[1]
	} else {
		c.PosEmbed = "none"
	}
	candidates := hub.TrainSizes()
	if m != nil {
		s, _ := strconv.Atoi(m[3])
		candidates = append(candidates, [2]int{s, s})
	}
	if c.PosEmbed == "learn" {
		var err error
		if c.ImgSize, c.NoEmbedClass, err = nn.TableTrainSize(rows, c.Prefix(), c.PatchSize, candidates); err != nil {
			return c, err
		}
	} else if len(candidates) > 0 {
		c.ImgSize = candidates[0]
	} else {
		c.ImgSize = [2]int{224, 224} // unused without a table
	}
	// Pooling: as configured, else timm's default (class token if there is
	// one, with fc_norm meaning average pooling).
	switch {
	case c.GlobalPool == "map":
	case hub != nil && hub.GlobalPool != nil:
		c.GlobalPool = *hub.GlobalPool
	case c.ClassToken && !c.FCNorm:
		c.GlobalPool = "token"
	default:
		c.GlobalPool = "avg"
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("inferred config: %w", err)
	}
	return c, nil
}
