package naflex

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// Config is a NaFlexVit architecture as plain facts (timm's NaFlexVitCfg,
// the parts anyres runs).
type Config struct {
	PatchSize [2]int `json:"patch_size"`
	// ChannelsFirst: patches are flattened (C, ph, pw), not timm's default
	// (ph, pw, C) (model_args patchify_channels_last false).
	ChannelsFirst bool    `json:"channels_first,omitempty"`
	ConvEmbed     bool    `json:"conv_embed"` // embed_proj_type='conv': embeds.proj is [dim, C, ph, pw], not a linear layer over channels-last patches
	InChans       int     `json:"in_chans"`
	EmbedDim      int     `json:"embed_dim"`
	Depth         int     `json:"depth"`
	NumHeads      int     `json:"num_heads"`
	MLPHidden     int     `json:"mlp_hidden"`
	QKVBias       bool    `json:"qkv_bias"`
	ClassToken    bool    `json:"class_token"`
	RegTokens     int     `json:"reg_tokens"`
	PosGrid       [2]int  `json:"pos_embed_grid_size"`     // the stored table's grid; zero: no table
	PosSquare     bool    `json:"pos_embed_ar_preserving"` // resample the table to L×L, L = max(H, W), and take its top-left H×W
	PosInterp     string  `json:"pos_embed_interp_mode"`   // F.interpolate mode of the table, antialiased: "bicubic" (timm's default) or "bilinear"
	PreNorm       bool    `json:"pre_norm"`                // norm_pre after the embedding (the patch projection then has no bias)
	FinalNorm     bool    `json:"final_norm"`              // norm on every token at the end of forward_features
	FCNorm        bool    `json:"fc_norm"`                 // norm on the pooled feature
	LayerScale    bool    `json:"layer_scale"`
	GlobalPool    string  `json:"global_pool"` // "map", "avg", "token" or "" (none)
	PoolHeads     int     `json:"attn_pool_num_heads"`
	PoolHidden    int     `json:"attn_pool_mlp_hidden"`
	Act           string  `json:"act_layer"` // "gelu" or "gelu_tanh"
	NormEps       float64 `json:"norm_eps"`
	NumClasses    int     `json:"num_classes"`
	DynPad        bool    `json:"dynamic_img_pad"`
}

// Limits on what a file may ask for.
const (
	maxDim     = 1 << 14
	maxDepth   = 1 << 10
	maxPatch   = 1 << 10
	maxPrefix  = 1 << 10
	maxClasses = 1 << 20
)

// SigLIP2Base is naflexvit_base_patch16_siglip (SigLIP 2 B/16 NaFlex image
// tower, no classifier): the architecture of the benchmarks.
func SigLIP2Base() Config {
	return Config{PatchSize: [2]int{16, 16}, InChans: 3, EmbedDim: 768, Depth: 12, NumHeads: 12, MLPHidden: 3072,
		QKVBias: true, PosGrid: [2]int{16, 16}, PosInterp: "bicubic", FinalNorm: true, GlobalPool: "map",
		PoolHeads: 12, PoolHidden: 3072, Act: "gelu_tanh", NormEps: 1e-6}
}

// JSON is the config as JSON.
func (c Config) JSON() ([]byte, error) { return json.Marshal(c) }

// Prefix is the number of class and register tokens.
func (c Config) Prefix() int {
	if c.ClassToken {
		return 1 + c.RegTokens
	}
	return c.RegTokens
}

func (c Config) activation() (kernels.Activation, error) {
	switch c.Act {
	case "gelu", "":
		return kernels.ActGELU, nil
	case "gelu_tanh":
		return kernels.ActGELUTanh, nil
	}
	return 0, fmt.Errorf("%w: activation %q (want gelu or gelu_tanh)", ErrConfig, c.Act)
}

func (c Config) resample() (posenc.ResampleOptions, error) {
	m, err := posenc.ParseMethod(c.PosInterp)
	if err != nil {
		return posenc.ResampleOptions{}, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	// NaFlexEmbeds resamples with antialias on, align_corners off.
	return posenc.ResampleOptions{Method: m, Antialias: m != posenc.Nearest}, nil
}

// Validate reports a config anyres cannot run.
func (c Config) Validate() error {
	bad := nn.ConfigErrorf
	switch {
	case c.EmbedDim <= 0 || c.EmbedDim > maxDim:
		return bad("embed_dim %d outside 1..%d", c.EmbedDim, maxDim)
	case c.NumHeads <= 0 || c.EmbedDim%c.NumHeads != 0:
		return bad("embed_dim %d does not split into %d heads", c.EmbedDim, c.NumHeads)
	case c.Depth < 0 || c.Depth > maxDepth:
		return bad("depth %d outside 0..%d", c.Depth, maxDepth)
	case c.PatchSize[0] <= 0 || c.PatchSize[1] <= 0 || c.PatchSize[0] > maxPatch || c.PatchSize[1] > maxPatch:
		return bad("patch size %v outside 1..%d", c.PatchSize, maxPatch)
	case c.InChans <= 0 || c.InChans > 64:
		return bad("%d input channels", c.InChans)
	case c.MLPHidden <= 0 || c.MLPHidden > 16*maxDim:
		return bad("MLP width %d", c.MLPHidden)
	case c.RegTokens < 0 || c.Prefix() > maxPrefix:
		return bad("%d register tokens", c.RegTokens)
	case c.NumClasses < 0 || c.NumClasses > maxClasses:
		return bad("%d classes", c.NumClasses)
	case c.PosGrid[0] < 0 || c.PosGrid[1] < 0 || c.PosGrid[0] > posenc.MaxGridSide || c.PosGrid[1] > posenc.MaxGridSide:
		return bad("position grid %v", c.PosGrid)
	case c.NormEps <= 0:
		return bad("norm eps %g", c.NormEps)
	}
	switch c.GlobalPool {
	case "map":
		if c.PoolHeads <= 0 || c.EmbedDim%c.PoolHeads != 0 || c.PoolHidden <= 0 || c.PoolHidden > 16*maxDim {
			return bad("attention pool with %d heads, MLP %d, for width %d", c.PoolHeads, c.PoolHidden, c.EmbedDim)
		}
		if c.Prefix() > 0 {
			// timm pools the patch tokens only (pool_include_prefix False);
			// nn.AttentionPool attends over every token.
			return bad("attention pooling with %d prefix tokens is not supported", c.Prefix())
		}
	case "token":
		if !c.ClassToken {
			return bad("token pooling without a class token")
		}
	case "":
		if c.NumClasses > 0 {
			return bad("global_pool \"\" (no pooling) with a %d-class head: timm then runs the head on every token, which anyres does not; give a pooling or drop the head", c.NumClasses)
		}
	case "avg":
	default:
		return bad("global_pool %q (want map, avg, token or none)", c.GlobalPool)
	}
	if _, err := c.activation(); err != nil {
		return err
	}
	if c.PosGrid != [2]int{} {
		if _, err := c.resample(); err != nil {
			return err
		}
	}
	return nil
}

// timmHeads are the head counts of timm's NaFlexVit widths (the shapes
// cannot tell them).
var timmHeads = map[int]int{384: 6, 768: 12, 832: 13, 1024: 16, 1152: 16}

var patchInName = regexp.MustCompile(`_patch(\d+)`)

// InferConfig reads the architecture of a timm NaFlexVit checkpoint from
// its tensor shapes and timm's hub config.json (nil: none): which tensors
// exist says which parts it has; the name and model_args say the rest
// (activation, interpolation, heads, patch size), with timm's defaults.
//
// The table's interpolation is model_args.pos_embed_interp_mode, else
// bicubic: what timm 1.0.29 (the version the goldens pin) uses for every
// naflexvit model, SigLIP 2's included. Later timm, Hugging Face's Siglip2
// and big_vision resize the SigLIP 2 table bilinearly (antialiased); give
// that in model_args or anyres.Options.Resample to match them.
func InferConfig(ck nn.Checkpoint, hub *nn.HubConfig) (Config, error) {
	shape := func(name string) []int { return nn.ShapeOf(ck, name) }
	name := ""
	args := map[string]any{}
	if hub != nil {
		name = hub.Architecture
		if hub.ModelArgs != nil {
			args = hub.ModelArgs
		}
	}
	c := Config{QKVBias: ck.Has("blocks.0.attn.qkv.bias"), ClassToken: ck.Has("embeds.cls_token"),
		PreNorm: ck.Has("norm_pre.weight"), FinalNorm: ck.Has("norm.weight"), FCNorm: ck.Has("fc_norm.weight"),
		LayerScale: ck.Has("blocks.0.ls1.gamma"), PosInterp: "bicubic", Act: "gelu", NormEps: 1e-6}
	// Parts timm's NaFlexVit has that anyres does not run: refuse by name.
	for _, t := range []string{"embeds.pos_embed_y", "embeds.norm_input.weight", "embeds.norm.weight", "blocks.0.attn.q_norm.weight"} {
		if ck.Has(t) {
			return c, fmt.Errorf("%w: %q: this NaFlexVit variant (factorized table, embedding norms or q/k norms) is not supported", ErrConfig, t)
		}
	}
	if v, ok := args["rope_type"].(string); ok && v != "" && v != "none" {
		return c, fmt.Errorf("%w: NaFlexVit with rope_type %q is not supported", ErrConfig, v)
	}
	k := shape("embeds.proj.weight")
	switch {
	case len(k) == 4 && k[0] > 0 && k[1] > 0 && k[2] > 0 && k[3] > 0 && k[2] <= maxPatch && k[3] <= maxPatch:
		// embed_proj_type='conv': a [dim, C, ph, pw] convolution.
		c.EmbedDim, c.InChans, c.PatchSize, c.ConvEmbed = k[0], k[1], [2]int{k[2], k[3]}, true
	case len(k) == 2 && k[0] > 0 && k[1] > 0:
		c.EmbedDim = k[0]
		c.PatchSize = [2]int{16, 16}
		if m := patchInName.FindStringSubmatch(name); m != nil {
			p, _ := strconv.Atoi(m[1])
			c.PatchSize = [2]int{p, p}
		}
		if p, ok := nn.SizePair(args["patch_size"]); ok {
			c.PatchSize = p
		}
		if c.PatchSize[0] <= 0 || c.PatchSize[1] <= 0 || c.PatchSize[0] > maxPatch || c.PatchSize[1] > maxPatch {
			return c, fmt.Errorf("%w: patch size %v", ErrConfig, c.PatchSize)
		}
		pp := c.PatchSize[0] * c.PatchSize[1]
		if k[1]%pp != 0 {
			return c, fmt.Errorf("%w: embeds.proj.weight takes %d values per patch, not a multiple of the %v patch", ErrConfig, k[1], c.PatchSize)
		}
		c.InChans = k[1] / pp
		// The channel count is what the patch size leaves: a patch_size
		// that contradicts the weights shows as a channel count the config
		// does not state (timm's default is 3).
		want, ok, err := hub.Int("in_chans")
		if err != nil {
			return c, err
		}
		if !ok {
			want = 3
		}
		if c.InChans != want {
			return c, fmt.Errorf("%w: embeds.proj.weight takes %d values per patch: at the %v patch that is %d channels, not the %d of in_chans (is model_args.patch_size right?)",
				ErrConfig, k[1], c.PatchSize, c.InChans, want)
		}
	default:
		return c, fmt.Errorf("%w: embeds.proj.weight has shape %v, want [dim, ph·pw·C] (linear) or [dim, C, ph, pw] (conv)", ErrConfig, k)
	}
	c.Depth = nn.CountBlocks(ck, "blocks.", ".attn.qkv.weight")
	if fc1 := shape("blocks.0.mlp.fc1.weight"); len(fc1) == 2 {
		c.MLPHidden = fc1[0]
	}
	if r := shape("embeds.reg_token"); len(r) == 3 {
		c.RegTokens = r[1]
	}
	if h := shape("head.weight"); len(h) == 2 {
		c.NumClasses = h[0]
	}
	if p := shape("embeds.pos_embed"); len(p) == 4 {
		c.PosGrid = [2]int{p[1], p[2]}
	} else if p != nil {
		return c, fmt.Errorf("%w: embeds.pos_embed has shape %v, want [1, H, W, dim]", ErrConfig, p)
	}
	if strings.Contains(name, "siglip") {
		c.Act = "gelu_tanh"
	}
	if v, ok := args["act_layer"].(string); ok {
		c.Act = v
	}
	if v, ok := args["pos_embed_interp_mode"].(string); ok {
		c.PosInterp = v
	}
	c.PosSquare = strings.Contains(name, "_par_") // timm's naflexvit_*_par_* models
	if v, ok := args["pos_embed_ar_preserving"].(bool); ok {
		c.PosSquare = v
	}
	if v, ok := args["patchify_channels_last"].(bool); ok {
		c.ChannelsFirst = !v
	}
	if v, ok := args["dynamic_img_pad"].(bool); ok {
		c.DynPad = v
	}
	if v, ok, err := hub.Int("num_heads"); err != nil {
		return c, err
	} else if ok {
		c.NumHeads = v
	} else if h := timmHeads[c.EmbedDim]; h > 0 {
		c.NumHeads = h
	} else {
		return c, fmt.Errorf("%w: cannot tell the number of attention heads of a %d-wide model; give a config.json with model_args.num_heads", ErrConfig, c.EmbedDim)
	}
	switch {
	case ck.Has("attn_pool.latent"):
		c.GlobalPool, c.PoolHeads = "map", c.NumHeads
		if v, ok, err := hub.Int("attn_pool_num_heads"); err != nil {
			return c, err
		} else if ok {
			c.PoolHeads = v
		}
		if l := shape("attn_pool.latent"); len(l) != 3 || l[1] != 1 {
			return c, fmt.Errorf("%w: attn_pool.latent has shape %v, want [1, 1, dim]", ErrConfig, l)
		}
		if f := shape("attn_pool.mlp.fc1.weight"); len(f) == 2 {
			c.PoolHidden = f[0]
		}
	case hub != nil && hub.GlobalPool != nil:
		c.GlobalPool = *hub.GlobalPool
	case c.FCNorm:
		c.GlobalPool = "avg"
	case c.ClassToken:
		c.GlobalPool = "token"
	default:
		c.GlobalPool = "avg"
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("inferred config: %w", err)
	}
	return c, nil
}
