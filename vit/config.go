package vit

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/anyres/anyres/kernels"
)

// Config is a timm VisionTransformer architecture as plain facts. Its JSON
// form uses the keys of the `config` metadata that the golden model files
// (and files written by SaveConfig-aware tools) carry, so a checkpoint can
// describe itself; unknown keys are ignored.
type Config struct {
	ImgSize    [2]int `json:"img_size"`    // training image size (H, W): fixes the stored position table's grid
	PatchSize  [2]int `json:"patch_size"`  // (H, W) of one patch
	InChans    int    `json:"in_chans"`    // image channels; 0 means 3
	EmbedDim   int    `json:"embed_dim"`   // token width
	Depth      int    `json:"depth"`       // number of blocks
	NumHeads   int    `json:"num_heads"`   // attention heads; EmbedDim must divide by it
	MLPHidden  int    `json:"mlp_hidden"`  // width of the MLP's hidden layer (and of the 'map' head's MLP)
	QKVBias    bool   `json:"qkv_bias"`    // qkv projection has a bias
	ClassToken bool   `json:"class_token"` // a class token leads the sequence
	RegTokens  int    `json:"reg_tokens"`  // register tokens after the class token
	// NoEmbedClass: the position table covers patch tokens only; prefix
	// tokens get none (timm no_embed_class).
	NoEmbedClass  bool    `json:"no_embed_class"`
	PosEmbed      string  `json:"pos_embed"`       // "learn" (a stored table) or "none"
	GlobalPool    string  `json:"global_pool"`     // "token" (class token), "avg" (mean of patch tokens), "map" (attention pool), "token_avg" (both, concatenated: transformers' Dinov2 classifier) or "" (no pooling, no head)
	FCNorm        bool    `json:"fc_norm"`         // layer norm after pooling (timm's default with avg pooling)
	FinalNorm     bool    `json:"final_norm"`      // layer norm on every token at the end of forward_features
	PreNorm       bool    `json:"pre_norm"`        // layer norm after the position embedding (CLIP style)
	NormEps       float64 `json:"norm_eps"`        // layer-norm epsilon (timm ViT: 1e-6)
	Act           string  `json:"act"`             // MLP activation: "gelu_erf" (or "gelu"), "gelu_tanh" or "quick_gelu"
	DynamicImgPad bool    `json:"dynamic_img_pad"` // pad images to a multiple of the patch size (default edge policy Pad)
	NumClasses    int     `json:"num_classes"`     // classifier outputs; 0 for none
	// LayerScale: each block scales its attention and MLP branches by
	// learned per-channel gammas (ls1.gamma, ls2.gamma: DINOv2, DeiT-III).
	LayerScale bool `json:"layer_scale"`
	// DistToken: a distillation token follows the class token, with its
	// own classifier head_dist (DeiT distilled).
	DistToken bool `json:"dist_token"`
	// NoPatchBias: the patch embedding has no bias (CLIP).
	NoPatchBias bool `json:"no_patch_bias"`
	// AttnPoolLatents is the number of latent queries of the 'map'
	// attention-pool head (SigLIP: 1); 0 means 1.
	AttnPoolLatents int `json:"attn_pool_latents"`
	// Pooler: transformers' ViT pooler, tanh(pooler.dense(class token)),
	// makes the pooled feature.
	Pooler bool `json:"pooler,omitempty"`
	// NoHeadBias: the head has no bias (CLIP's visual_projection).
	NoHeadBias bool `json:"no_head_bias,omitempty"`
}

// Limits on configurations, so that a corrupt or hostile file cannot make
// the loader allocate without bound.
const (
	maxDim      = 1 << 14
	maxDepth    = 1 << 10
	maxPatch    = 1 << 10
	maxPrefix   = 1 << 10
	maxClasses  = 1 << 20
	maxChannels = 64
)

// ViTB16 is ViT-Base/16 at 224² (timm vit_base_patch16_224): the
// architecture of the benchmarks.
func ViTB16() Config {
	return Config{ImgSize: [2]int{224, 224}, PatchSize: [2]int{16, 16}, InChans: 3, EmbedDim: 768, Depth: 12, NumHeads: 12,
		MLPHidden: 3072, QKVBias: true, ClassToken: true, PosEmbed: "learn", GlobalPool: "token", FinalNorm: true,
		NormEps: 1e-6, Act: "gelu_erf", NumClasses: 1000}
}

// ParseConfig decodes a JSON config and validates it.
func ParseConfig(data []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(data, &c); err != nil {
		return Config{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if c.InChans == 0 {
		c.InChans = 3
	}
	if c.Act == "" {
		c.Act = "gelu_erf"
	}
	return c, c.Validate()
}

// JSON encodes c with the keys ParseConfig reads.
func (c Config) JSON() ([]byte, error) { return json.Marshal(c) }

// Channels is the number of image channels (InChans, 3 when unset).
func (c Config) Channels() int {
	if c.InChans == 0 {
		return 3
	}
	return c.InChans
}

// Prefix is the number of tokens before the patch tokens: class,
// distillation and registers.
func (c Config) Prefix() int {
	n := c.RegTokens
	if c.ClassToken {
		n++
	}
	if c.DistToken {
		n++
	}
	return n
}

// activation maps Act to the kernel's activation.
func (c Config) activation() (kernels.Activation, bool) {
	switch c.Act {
	case "", "gelu_erf", "gelu":
		return kernels.ActGELU, true
	case "gelu_tanh":
		return kernels.ActGELUTanh, true
	case "quick_gelu":
		return kernels.ActQuickGELU, true
	}
	return kernels.ActNone, false
}

// HeadDim is the width of one attention head.
func (c Config) HeadDim() int { return c.EmbedDim / c.NumHeads }

// TrainGrid is the patch grid of the training size: the grid the stored
// position table was learned on.
func (c Config) TrainGrid() (h, w int) {
	return c.ImgSize[0] / c.PatchSize[0], c.ImgSize[1] / c.PatchSize[1]
}

// posTableRows is the number of rows of the stored position table.
func (c Config) posTableRows() int {
	h, w := c.TrainGrid()
	if c.NoEmbedClass {
		return h * w
	}
	return c.Prefix() + h*w
}

// Validate reports the first thing wrong with c.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case c.EmbedDim <= 0 || c.EmbedDim > maxDim:
		return bad("embed_dim %d outside 1..%d", c.EmbedDim, maxDim)
	case c.Depth < 0 || c.Depth > maxDepth:
		return bad("depth %d outside 0..%d", c.Depth, maxDepth)
	case c.NumHeads <= 0 || c.EmbedDim%c.NumHeads != 0:
		return bad("embed_dim %d does not split into %d heads", c.EmbedDim, c.NumHeads)
	case c.MLPHidden <= 0 || c.MLPHidden > 16*maxDim:
		return bad("mlp_hidden %d outside 1..%d", c.MLPHidden, 16*maxDim)
	case c.PatchSize[0] <= 0 || c.PatchSize[1] <= 0 || c.PatchSize[0] > maxPatch || c.PatchSize[1] > maxPatch:
		return bad("patch_size %v: each side must be in 1..%d", c.PatchSize, maxPatch)
	case c.InChans < 0 || c.InChans > maxChannels:
		return bad("in_chans %d outside 1..%d", c.InChans, maxChannels)
	case c.RegTokens < 0 || c.RegTokens > maxPrefix:
		return bad("reg_tokens %d outside 0..%d", c.RegTokens, maxPrefix)
	case c.NumClasses < 0 || c.NumClasses > maxClasses:
		return bad("num_classes %d outside 0..%d", c.NumClasses, maxClasses)
	case c.PosEmbed != "learn" && c.PosEmbed != "none":
		return bad("pos_embed %q: want \"learn\" or \"none\"", c.PosEmbed)
	case c.GlobalPool != "token" && c.GlobalPool != "avg" && c.GlobalPool != "map" && c.GlobalPool != "token_avg" && c.GlobalPool != "":
		return bad("global_pool %q: want \"token\", \"avg\", \"map\", \"token_avg\" or \"\"", c.GlobalPool)
	case (c.GlobalPool == "token" || c.GlobalPool == "token_avg") && !c.ClassToken:
		return bad("global_pool \"token\" needs a class token")
	case c.GlobalPool == "" && c.NumClasses > 0:
		return bad("global_pool \"\" (no pooling) with a %d-class head: timm then runs the head on every token, which anyres does not; give a pooling or drop the head", c.NumClasses)
	case c.DistToken && !c.ClassToken:
		return bad("a distillation token needs a class token")
	case c.Pooler && (c.GlobalPool != "token" || c.DistToken):
		return bad("the pooler takes the class token alone (global_pool \"token\", no distillation token)")
	case c.GlobalPool == "token_avg" && (c.FCNorm || c.DistToken):
		return bad("global_pool \"token_avg\" takes no fc_norm and no distillation token")
	case c.AttnPoolLatents < 0 || c.AttnPoolLatents > maxPrefix:
		return bad("attn_pool_latents %d outside 0..%d", c.AttnPoolLatents, maxPrefix)
	case !validAct(c):
		return bad("act %q: want \"gelu_erf\", \"gelu_tanh\" or \"quick_gelu\"", c.Act)
	case !(c.NormEps > 0) || c.NormEps > 1 || math.IsInf(c.NormEps, 0):
		return bad("norm_eps %g outside (0, 1]", c.NormEps)
	}
	if c.PosEmbed == "learn" {
		h, w := c.TrainGrid()
		if h <= 0 || w <= 0 || h > maxPatch || w > maxPatch {
			return bad("img_size %v and patch_size %v give a %d×%d training grid", c.ImgSize, c.PatchSize, h, w)
		}
	}
	return nil
}

func validAct(c Config) bool { _, ok := c.activation(); return ok }
