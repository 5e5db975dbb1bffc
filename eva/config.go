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
	// with language-model frequencies) or "mixed" (RoPE-Mixed, learned
	// frequencies per block and head in rope.freqs).
	Rope            string  `json:"rope_type,omitempty"`
	RopeRefShape    [2]int  `json:"ref_feat_shape,omitempty"`
	RopeTemperature float64 `json:"rope_temperature,omitempty"`
	RopeGridOffset  float64 `json:"rope_grid_offset,omitempty"`
	RopeXY          bool    `json:"rope_xy,omitempty"` // grid_indexing 'xy'
	PreNorm         bool    `json:"norm_pre"`
	FinalNorm       bool    `json:"norm"`
	FCNorm          bool    `json:"fc_norm"`
	GlobalPool      string  `json:"global_pool"`
	NumClasses      int     `json:"num_classes"`
	NormEps         float64 `json:"norm_eps"`
	DynamicImgPad   bool    `json:"dynamic_img_pad"`
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
	case c.Rope != "" && c.Rope != "cat" && c.Rope != "mixed":
		return bad("RoPE type %q is not supported (cat, mixed)", c.Rope)
	case c.Rope != "" && (c.EmbedDim/c.NumHeads)%4 != 0:
		return bad("RoPE needs a head width divisible by 4, not %d", c.EmbedDim/c.NumHeads)
	case c.Rope == "cat" && !(c.RopeTemperature >= 1 && c.RopeTemperature <= math.MaxFloat64):
		// Below 1 the frequencies grow as its inverse: infinities, then NaN.
		return bad("rope_temperature %g: want a finite number of at least 1", c.RopeTemperature)
	case math.IsNaN(c.RopeGridOffset) || math.Abs(c.RopeGridOffset) > 1<<20:
		return bad("rope_grid_offset %g outside ±%d", c.RopeGridOffset, 1<<20)
	case c.GlobalPool != "avg" && c.GlobalPool != "token" && c.GlobalPool != "":
		return bad("global_pool %q is not supported (avg, token, none)", c.GlobalPool)
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

// timmHeads are the head counts of timm's Eva widths; shapes cannot tell
// them (and model_args.num_heads overrides).
var timmHeads = map[int]int{192: 3, 384: 6, 512: 8, 640: 10, 768: 12, 1024: 16, 1408: 16, 1792: 16}

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
}

var (
	ropeMixedName = regexp.MustCompile(`^vit_[a-z]+_patch\d+_rope_mixed`)
	ropeRegName   = regexp.MustCompile(`^vit_[a-z]+_patch\d+_rope_reg\d+_gap`)
	ropeAxialName = regexp.MustCompile(`^vit_[a-z]+_patch\d+_rope_`)
	sizeSuffix    = regexp.MustCompile(`_(\d+)(?:[._]|$)`)
)

func defaultsFor(arch string) nameDefaults {
	switch {
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
	shape := func(name string) []int {
		s, err := ck.Shape(name)
		if err != nil {
			return nil
		}
		return s
	}
	c := Config{ClassToken: ck.Has("cls_token"), AbsPosEmbed: ck.Has("pos_embed"), PatchBias: ck.Has("patch_embed.proj.bias"),
		QKVSplit: ck.Has("blocks.0.attn.q_proj.weight"), LayerScale: ck.Has("blocks.0.gamma_1"),
		ScaleMLP: ck.Has("blocks.0.mlp.norm.weight"), PreNorm: ck.Has("norm_pre.weight"), FinalNorm: ck.Has("norm.weight"),
		FCNorm: ck.Has("fc_norm.weight"), NormEps: 1e-6, InChans: 3}
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
	for ck.Has("blocks." + strconv.Itoa(c.Depth) + ".norm1.weight") {
		c.Depth++
	}
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
	c.Rope, c.RopeRefShape, c.RopeXY, c.RopeTemperature, c.RopeGridOffset = d.rope, d.ref, d.xy, d.temp, d.offset
	var args map[string]any
	if hub != nil {
		args = hub.ModelArgs
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
		c.RopeRefShape, c.RopeXY, c.RopeTemperature, c.RopeGridOffset = [2]int{}, false, 0, 0
	}
	// Settings anyres does not run are refused by name rather than run wrongly.
	for _, key := range []string{"use_post_norm", "scale_attn_inner", "rope_rotate_half", "qk_norm", "gated_attn"} {
		if v, ok := args[key].(bool); ok && v {
			return c, fmt.Errorf("%w: model_args.%s is not supported", ErrConfig, key)
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
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("inferred config: %w", err)
	}
	return c, nil
}
