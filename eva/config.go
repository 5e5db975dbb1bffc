package eva

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/anyres/anyres/nn"
)

// Config is the architecture of a timm Eva checkpoint, as plain facts.
type Config struct {
	Architecture string `json:"architecture,omitempty"`
	EmbedDim     int    `json:"embed_dim"`
	Depth        int    `json:"depth"`
	NumHeads     int    `json:"num_heads"`
	PatchSize    [2]int `json:"patch_size"`
	InChans      int    `json:"in_chans"`
	// ImgSize is the training size; it places the learned table's grid.
	ImgSize      [2]int `json:"img_size"`
	ClassToken   bool   `json:"class_token"`
	RegTokens    int    `json:"num_reg_tokens"`
	AbsPosEmbed  bool   `json:"use_abs_pos_emb"`
	NoEmbedClass bool   `json:"no_embed_class"`
	PatchBias    bool   `json:"patch_bias"`
	// QKVSplit: separate q_proj/k_proj/v_proj (timm qkv_fused=False).
	QKVSplit bool `json:"qkv_split"`
	// MLP is "mlp" (Mlp, GELU), "glu" (GluMlp: SiLU, packed fc1, first
	// half gated) or "swiglu" (SwiGLU: fc1_g, fc1_x).
	MLP       string `json:"mlp"`
	MLPHidden int    `json:"mlp_hidden"`
	ScaleMLP  bool   `json:"scale_mlp"` // LayerNorm on the hidden layer (mlp.norm)
	// LayerScale: gamma_1 and gamma_2 per block (timm init_values).
	LayerScale bool `json:"layer_scale"`
	// Rope is "" (none), "cat" (EVA-02's axial RoPE, RotaryEmbeddingCat
	// with language-model frequencies), "mixed" (RoPE-Mixed, learned
	// frequencies per block and head in rope.freqs) or "dinov3"
	// (RotaryEmbeddingDinoV3: patch centres normalised to [-1, 1]).
	Rope string `json:"rope_type,omitempty"`
	// RopeHalf is timm's rope_rotate_half: pairs (i, i+headDim/2), the
	// layout DINOv3's tables are built for (and the only one with them).
	RopeHalf bool `json:"rope_rotate_half,omitempty"`
	// AttnNorm is timm's scale_attn_inner: a LayerNorm on the attention
	// output before proj (attn.norm; EVA-02 CLIP towers).
	AttnNorm bool `json:"scale_attn_inner,omitempty"`
	// PoolHeads and PoolHidden are the 'map' head's (AttentionPoolLatent:
	// attn_pool_num_heads, its MLP's hidden width); PoolLatents its queries.
	PoolHeads       int     `json:"attn_pool_num_heads,omitempty"`
	PoolHidden      int     `json:"attn_pool_hidden,omitempty"`
	PoolLatents     int     `json:"attn_pool_latents,omitempty"`
	RopeRefShape    [2]int  `json:"ref_feat_shape,omitempty"`
	RopeTemperature float64 `json:"rope_temperature,omitempty"`
	RopeGridOffset  float64 `json:"rope_grid_offset,omitempty"`
	// RopeXY is grid_indexing 'xy'. DINOv3's coordinates come out the
	// same under both indexings (make_coords_dinov3 stacks rows first
	// either way), so it changes nothing there.
	RopeXY        bool    `json:"rope_xy,omitempty"`
	PreNorm       bool    `json:"norm_pre"`
	FinalNorm     bool    `json:"norm"`
	FCNorm        bool    `json:"fc_norm"`
	GlobalPool    string  `json:"global_pool"`
	NumClasses    int     `json:"num_classes"`
	NormEps       float64 `json:"norm_eps"`
	DynamicImgPad bool    `json:"dynamic_img_pad"`
}

// Prefix is the number of tokens before the patch tokens.
func (c *Config) Prefix() int {
	n := c.RegTokens
	if c.ClassToken {
		n++
	}
	return n
}

// JSON is the config as JSON (nn.Info.Config).
func (c *Config) JSON() ([]byte, error) { return json.Marshal(c) }

// TrainGrid is the patch grid of the training size.
func (c *Config) TrainGrid() (int, int) {
	return c.ImgSize[0] / c.PatchSize[0], c.ImgSize[1] / c.PatchSize[1]
}

// Validate reports a config that cannot describe a model.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case c.EmbedDim <= 0 || c.NumHeads <= 0 || c.EmbedDim%c.NumHeads != 0:
		return bad("width %d does not split into %d heads", c.EmbedDim, c.NumHeads)
	case c.Depth <= 0:
		return bad("no blocks")
	case c.PatchSize[0] <= 0 || c.PatchSize[1] <= 0:
		return bad("patch size %v", c.PatchSize)
	case c.MLP != "mlp" && c.MLP != "glu" && c.MLP != "swiglu":
		return bad("unknown MLP %q", c.MLP)
	case c.MLPHidden <= 0:
		return bad("MLP hidden width %d", c.MLPHidden)
	case c.Rope != "" && c.Rope != "cat" && c.Rope != "mixed" && c.Rope != "dinov3":
		return bad("RoPE type %q is not supported (cat, mixed, dinov3)", c.Rope)
	case c.RopeHalf != (c.Rope == "dinov3"):
		// timm builds DINOv3's tables in the half layout whatever the
		// attention applies, and the others' interleaved.
		return bad("RoPE type %q with rope_rotate_half=%v: timm pairs them only as dinov3 with half rotation", c.Rope, c.RopeHalf)
	case c.Rope == "dinov3" && (c.RopeRefShape != [2]int{} || c.RopeGridOffset != 0):
		return bad("DINOv3's RoPE takes no ref_feat_shape or rope_grid_offset (timm drops both for it), got %v and %g", c.RopeRefShape, c.RopeGridOffset)
	case c.Rope != "" && (c.EmbedDim/c.NumHeads)%4 != 0:
		return bad("RoPE needs a head width divisible by 4, not %d", c.EmbedDim/c.NumHeads)
	case c.Rope == "cat" && !(c.RopeTemperature >= 1 && c.RopeTemperature <= math.MaxFloat64):
		// Below 1 the frequencies grow as its inverse: infinities, then NaN.
		return bad("rope_temperature %g: want a finite number of at least 1", c.RopeTemperature)
	case math.IsNaN(c.RopeGridOffset) || math.Abs(c.RopeGridOffset) > 1<<20:
		return bad("rope_grid_offset %g outside ±%d", c.RopeGridOffset, 1<<20)
	case c.GlobalPool != "avg" && c.GlobalPool != "token" && c.GlobalPool != "map" && c.GlobalPool != "":
		return bad("global_pool %q is not supported (avg, token, map, none)", c.GlobalPool)
	case c.GlobalPool == "map" && (c.PoolHeads <= 0 || c.EmbedDim%c.PoolHeads != 0 || c.PoolHidden <= 0 || c.PoolLatents <= 0):
		return bad("attention pool of %d heads, hidden width %d, %d latents for width %d", c.PoolHeads, c.PoolHidden, c.PoolLatents, c.EmbedDim)
	case c.GlobalPool == "token" && c.Prefix() == 0:
		return bad("token pooling without a class or register token")
	case c.GlobalPool == "" && c.NumClasses > 0:
		return bad("global_pool \"\" (no pooling) with a %d-class head: timm then runs the head on every token, which anyres does not; give a pooling or drop the head", c.NumClasses)
	case c.AbsPosEmbed && (c.ImgSize[0] < c.PatchSize[0] || c.ImgSize[1] < c.PatchSize[1]):
		return bad("training size %v is smaller than a patch %v", c.ImgSize, c.PatchSize)
	case !(c.NormEps > 0):
		return bad("norm eps %g", c.NormEps)
	}
	return nil
}

// timmHeads are the head counts of timm's Eva widths (1280: DINOv3 H+,
// 1536: PE G, 4096: DINOv3 7B); shapes cannot tell them (and
// model_args.num_heads overrides).
var timmHeads = map[int]int{192: 3, 384: 6, 512: 8, 640: 10, 768: 12, 1024: 16, 1280: 20, 1408: 16, 1536: 16, 1792: 16, 4096: 32}

// nameDefaults are the facts of a timm Eva architecture that neither the
// tensors nor a hub config.json (which has no model_args for timm's own
// checkpoints) say: whether and how it rotates.
type nameDefaults struct {
	rope   string
	ref    [2]int
	xy     bool
	temp   float64
	offset float64
	pool   string
	half   bool    // rope_rotate_half
	eps    float64 // LayerNorm eps when not timm's 1e-6
	// refTrain: ref_feat_shape is the training grid (Perception
	// Encoder: every size's own, 24 for 384/16, 32 for 448/14).
	refTrain bool
	// offsetCls: rope_grid_offset 1 with a class token, 0 without (PE).
	offsetCls bool
	poolHeads int // attn_pool_num_heads
}

var (
	ropeMixedName = regexp.MustCompile(`^vit_[a-z]+_patch\d+_rope_mixed`)
	ropeRegName   = regexp.MustCompile(`^vit_[a-z]+_patch\d+_rope_reg\d+_gap`)
	ropeAxialName = regexp.MustCompile(`^vit_[a-z]+_patch\d+_rope_`)
	sizeSuffix    = regexp.MustCompile(`_(\d+)(?:[._]|$)`)
)

func defaultsFor(arch string) nameDefaults {
	switch {
	case strings.Contains(arch, "_dinov3"):
		// Eva's default pool, avg, without fc_norm (use_fc_norm=False).
		return nameDefaults{rope: "dinov3", temp: 100, half: true, eps: 1e-5, pool: "avg"}
	case strings.HasPrefix(arch, "vit_pe_"):
		d := nameDefaults{rope: "cat", xy: true, temp: 10000, eps: 1e-5, refTrain: true, offsetCls: true}
		d.pool = "avg" // lang and spatial: Eva's default, without fc_norm
		if strings.HasPrefix(arch, "vit_pe_core_") {
			d.pool, d.poolHeads = "map", 8
		}
		return d
	case strings.HasPrefix(arch, "eva02_"):
		d := nameDefaults{rope: "cat", ref: [2]int{16, 16}, temp: 10000}
		if strings.Contains(arch, "_clip_") {
			d.pool = "token"
		}
		return d
	case ropeMixedName.MatchString(arch):
		return nameDefaults{rope: "mixed", xy: true, temp: 10, pool: "token"}
	case ropeRegName.MatchString(arch):
		return nameDefaults{rope: "cat", ref: [2]int{16, 16}, temp: 10000}
	case ropeAxialName.MatchString(arch):
		return nameDefaults{rope: "cat", xy: true, temp: 100, pool: "token"}
	}
	return nameDefaults{}
}

// InferConfig builds the architecture of a timm Eva checkpoint (EVA-02,
// RoPE-ViT) from its tensor shapes and timm's hub config.json (nil when
// there is none): the tensors say which parts exist and their widths;
// model_args, then the architecture name, say the rest.
func InferConfig(ck nn.Checkpoint, hub *nn.HubConfig) (Config, error) {
	shape := func(name string) []int { return nn.ShapeOf(ck, name) }
	c := Config{ClassToken: ck.Has("cls_token"), AbsPosEmbed: ck.Has("pos_embed"), PatchBias: ck.Has("patch_embed.proj.bias"),
		QKVSplit: ck.Has("blocks.0.attn.q_proj.weight"), LayerScale: ck.Has("blocks.0.gamma_1"),
		ScaleMLP: ck.Has("blocks.0.mlp.norm.weight"), PreNorm: ck.Has("norm_pre.weight"), FinalNorm: ck.Has("norm.weight"),
		FCNorm: ck.Has("fc_norm.weight"), AttnNorm: ck.Has("blocks.0.attn.norm.weight"), NormEps: 1e-6, InChans: 3}
	var arch string
	if hub != nil {
		arch = hub.Architecture
	}
	c.Architecture = arch
	k := shape("patch_embed.proj.weight")
	if len(k) != 4 || k[0] <= 0 || k[1] <= 0 || k[2] <= 0 || k[3] <= 0 {
		return c, fmt.Errorf("%w: patch_embed.proj.weight has shape %v, want out×in×h×w, all positive (is this a timm Eva?)", ErrConfig, k)
	}
	c.EmbedDim, c.InChans, c.PatchSize = k[0], k[1], [2]int{k[2], k[3]}
	c.Depth = nn.CountBlocks(ck, "blocks.", ".norm1.weight")
	if r := shape("reg_token"); len(r) == 3 {
		c.RegTokens = r[1]
	}
	if h := shape("head.weight"); len(h) == 2 {
		c.NumClasses = h[0]
	}
	// The MLP's layout and hidden width: fc2 reads the hidden layer.
	if fc2 := shape("blocks.0.mlp.fc2.weight"); len(fc2) == 2 {
		c.MLPHidden = fc2[1]
	}
	switch fc1 := shape("blocks.0.mlp.fc1.weight"); {
	case ck.Has("blocks.0.mlp.fc1_g.weight"):
		c.MLP = "swiglu"
	case len(fc1) == 2 && fc1[0] == 2*c.MLPHidden:
		c.MLP = "glu"
	default:
		c.MLP = "mlp"
	}
	if strings.HasPrefix(arch, "eva02_") && c.MLP == "mlp" {
		// Every timm EVA-02 has a gated (SwiGLU) MLP: weights with a plain
		// one are another model (a plain ViT, say), and running them with
		// the name's RoPE would be wrong without a word.
		return c, fmt.Errorf("%w: architecture %q, but blocks.0.mlp has no gate (no fc1_g, fc1 not twice the hidden width): these are not EVA-02 weights", ErrConfig, arch)
	}

	// Rotary: model_args, the name's defaults, and rope.freqs.
	d := defaultsFor(arch)
	c.Rope, c.RopeRefShape, c.RopeXY, c.RopeTemperature, c.RopeGridOffset, c.RopeHalf = d.rope, d.ref, d.xy, d.temp, d.offset, d.half
	if d.offsetCls && c.ClassToken {
		c.RopeGridOffset = 1
	}
	if d.eps > 0 {
		c.NormEps = d.eps
	}
	var args map[string]any
	if hub != nil {
		args = hub.ModelArgs
	}
	if v, ok := args["rope_rotate_half"].(bool); ok {
		c.RopeHalf = v
	}
	if v, ok := args["scale_attn_inner"].(bool); ok {
		c.AttnNorm = v // a contradicting file then misses or has extra attn.norm tensors, named
	}
	if v, ok := args["use_rot_pos_emb"].(bool); ok {
		if !v {
			c.Rope = ""
		} else if c.Rope == "" {
			c.Rope, c.RopeTemperature = "cat", 10000
		}
	}
	if v, ok := args["rope_type"].(string); ok && c.Rope != "" {
		c.Rope = v
	}
	if ck.Has("rope.freqs") {
		c.Rope = "mixed"
		if hub == nil {
			c.RopeXY = true // the naver checkpoints' grid indexing
		}
	}
	if v, ok := args["ref_feat_shape"]; ok {
		if v == nil {
			c.RopeRefShape = [2]int{}
		} else if s, ok := nn.SizePair(v); ok {
			c.RopeRefShape = s
		} else {
			return c, fmt.Errorf("%w: model_args.ref_feat_shape %v is not a size", ErrConfig, v)
		}
	}
	if v, ok := args["rope_grid_indexing"].(string); ok {
		if v != "xy" && v != "ij" {
			return c, fmt.Errorf("%w: rope_grid_indexing %q (want ij or xy)", ErrConfig, v)
		}
		c.RopeXY = v == "xy"
	}
	if v, ok := hub.Arg("rope_temperature"); ok {
		c.RopeTemperature = v
	}
	if v, ok := hub.Arg("rope_grid_offset"); ok {
		c.RopeGridOffset = v
	}
	if c.Rope == "" {
		c.RopeRefShape, c.RopeXY, c.RopeTemperature, c.RopeGridOffset, c.RopeHalf = [2]int{}, false, 0, 0, false
	}
	// Settings anyres does not run are refused by name rather than run wrongly.
	for _, key := range []string{"use_post_norm", "qk_norm", "gated_attn"} {
		if v, ok := args[key].(bool); ok && v {
			return c, fmt.Errorf("%w: model_args.%s is not supported", ErrConfig, key)
		}
	}
	// Every RoPE setting of timm's Eva is read above; another rope_* key
	// is not Eva's (timm would refuse it too) and is not silently dropped.
	for key := range args {
		switch key {
		case "rope_type", "rope_grid_offset", "rope_grid_indexing", "rope_temperature", "rope_rotate_half":
		default:
			if strings.HasPrefix(key, "rope_") {
				return c, fmt.Errorf("%w: model_args.%s is not a RoPE setting of timm's Eva (rope_type, rope_grid_offset, rope_grid_indexing, rope_temperature, rope_rotate_half)", ErrConfig, key)
			}
		}
	}
	if v, ok := args["dynamic_img_pad"].(bool); ok {
		c.DynamicImgPad = v
	}

	// Heads: model_args, the learned frequencies' shape, the standard widths.
	switch f := shape("rope.freqs"); {
	case hub != nil && hub.HasArg("num_heads"):
		v, _, err := hub.Int("num_heads")
		if err != nil {
			return c, err
		}
		c.NumHeads = v
	case len(f) == 4:
		c.NumHeads = f[2]
	case timmHeads[c.EmbedDim] > 0:
		c.NumHeads = timmHeads[c.EmbedDim]
	default:
		return c, fmt.Errorf("%w: cannot tell the number of attention heads of a %d-wide model (not a standard timm width); give a config.json with model_args.num_heads", ErrConfig, c.EmbedDim)
	}

	// Training size (for the learned table): model_args img_size, the
	// pretrained input size, the name's suffix, or a square grid from the
	// table; the table decides.
	candidates := hub.TrainSizes()
	if m := sizeSuffix.FindAllStringSubmatch(arch, -1); m != nil {
		s, _ := strconv.Atoi(m[len(m)-1][1])
		candidates = append(candidates, [2]int{s, s})
	}
	if p := shape("pos_embed"); c.AbsPosEmbed {
		if len(p) != 3 {
			return c, fmt.Errorf("%w: pos_embed has shape %v, want 1×rows×width", ErrConfig, p)
		}
		var err error
		if c.ImgSize, c.NoEmbedClass, err = nn.TableTrainSize(p[1], c.Prefix(), c.PatchSize, candidates); err != nil {
			return c, err
		}
	} else if len(candidates) > 0 {
		c.ImgSize = candidates[0]
	} else {
		c.ImgSize = [2]int{224, 224} // unused without a table
	}
	if v, ok := args["no_embed_class"].(bool); ok && v != c.NoEmbedClass && c.Prefix() > 0 {
		return c, fmt.Errorf("%w: model_args.no_embed_class is %v but pos_embed says %v", ErrConfig, v, c.NoEmbedClass)
	}
	if d.refTrain && c.Rope != "" && !hub.HasArg("ref_feat_shape") {
		c.RopeRefShape = [2]int{}
		c.RopeRefShape[0], c.RopeRefShape[1] = c.TrainGrid()
	}

	// Pooling: the hub config's, model_args', the name's, else what the
	// norms say (timm's Eva runs fc_norm exactly when it pools by 'avg').
	c.GlobalPool = "avg"
	if !c.FCNorm && c.ClassToken {
		c.GlobalPool = "token"
	}
	if d.pool != "" {
		c.GlobalPool = d.pool
	}
	if v, ok := args["global_pool"].(string); ok {
		c.GlobalPool = v
	}
	if hub != nil && hub.GlobalPool != nil {
		c.GlobalPool = *hub.GlobalPool
	}
	if c.GlobalPool == "map" {
		if err := c.inferPool(ck, hub, d); err != nil {
			return c, err
		}
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("inferred config: %w", err)
	}
	return c, nil
}

// inferPool reads the 'map' head's shape: latents and hidden width from
// its tensors, heads from model_args, the name, or the blocks'.
func (c *Config) inferPool(ck nn.Checkpoint, hub *nn.HubConfig, d nameDefaults) error {
	l, err := ck.Shape("attn_pool.latent")
	if err != nil || len(l) != 3 || l[0] != 1 || l[2] != c.EmbedDim {
		return fmt.Errorf("%w: global_pool 'map' needs attn_pool.latent of shape 1×latents×%d (%v, %v)", ErrWeight, c.EmbedDim, l, err)
	}
	fc1, err := ck.Shape("attn_pool.mlp.fc1.weight")
	if err != nil || len(fc1) != 2 {
		return fmt.Errorf("%w: global_pool 'map' needs attn_pool.mlp.fc1.weight of shape hidden×%d (%v, %v)", ErrWeight, c.EmbedDim, fc1, err)
	}
	c.PoolLatents, c.PoolHidden = l[1], fc1[0]
	c.PoolHeads = c.NumHeads
	if d.poolHeads > 0 {
		c.PoolHeads = d.poolHeads
	}
	if v, ok := hub.Arg("attn_pool_num_heads"); ok {
		c.PoolHeads = int(v)
	}
	if v, ok := hub.Arg("attn_pool_mlp_ratio"); ok && int(float64(c.EmbedDim)*v) != c.PoolHidden {
		return fmt.Errorf("%w: model_args.attn_pool_mlp_ratio %g gives a hidden width of %d, the file's attn_pool.mlp is %d", ErrConfig, v, int(float64(c.EmbedDim)*v), c.PoolHidden)
	}
	return nil
}
