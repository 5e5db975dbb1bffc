package beit

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"

	"github.com/anyres/anyres/nn"
)

// Config is the architecture of a timm BEiT checkpoint, as plain facts.
type Config struct {
	Architecture string `json:"architecture,omitempty"`
	EmbedDim     int    `json:"embed_dim"`
	Depth        int    `json:"depth"`
	NumHeads     int    `json:"num_heads"`
	PatchSize    [2]int `json:"patch_size"`
	InChans      int    `json:"in_chans"`
	// ImgSize is the training size: its patch grid is the window the
	// relative bias tables (and the absolute table, if any) were made for.
	ImgSize     [2]int `json:"img_size"`
	AbsPosEmbed bool   `json:"use_abs_pos_emb"`
	// RelPosBias: a table per block; SharedRelPosBias: one for all blocks.
	RelPosBias       bool    `json:"use_rel_pos_bias"`
	SharedRelPosBias bool    `json:"use_shared_rel_pos_bias"`
	QKVBias          bool    `json:"qkv_bias"` // q_bias and v_bias (k has none)
	SwiGLU           bool    `json:"swiglu_mlp"`
	MLPHidden        int     `json:"mlp_hidden"`
	ScaleMLP         bool    `json:"scale_mlp"`
	LayerScale       bool    `json:"layer_scale"` // gamma_1, gamma_2
	FinalNorm        bool    `json:"norm"`
	FCNorm           bool    `json:"fc_norm"`
	GlobalPool       string  `json:"global_pool"`
	NumClasses       int     `json:"num_classes"`
	NormEps          float64 `json:"norm_eps"`
	// Act is the MLP activation: "" or "gelu_erf" (BEiT's), "gelu_tanh",
	// "quick_gelu" (a transformers config's hidden_act).
	Act string `json:"act,omitempty"`
	// RelBiasInterp resizes the relative bias tables to other grids as
	// transformers does (bilinear F.interpolate of the offset grid) rather
	// than by timm's geometric rule.
	RelBiasInterp bool `json:"rel_bias_interp,omitempty"`
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
	th, tw := 0, 0
	if c.PatchSize[0] > 0 && c.PatchSize[1] > 0 {
		th, tw = c.TrainGrid()
	}
	switch {
	case c.EmbedDim <= 0 || c.NumHeads <= 0 || c.EmbedDim%c.NumHeads != 0:
		return bad("width %d does not split into %d heads", c.EmbedDim, c.NumHeads)
	case c.Depth <= 0:
		return bad("no blocks")
	case c.PatchSize[0] <= 0 || c.PatchSize[1] <= 0:
		return bad("patch size %v", c.PatchSize)
	case c.MLPHidden <= 0:
		return bad("MLP hidden width %d", c.MLPHidden)
	case th <= 0 || tw <= 0:
		return bad("training size %v is smaller than a patch %v", c.ImgSize, c.PatchSize)
	case c.RelPosBias && c.SharedRelPosBias:
		return bad("a per-block and a shared relative position bias together are not supported")
	case c.GlobalPool != "avg" && c.GlobalPool != "token" && c.GlobalPool != "":
		return bad("global_pool %q is not supported (avg, token, none)", c.GlobalPool)
	case c.GlobalPool == "" && c.NumClasses > 0:
		return bad("global_pool \"\" (no pooling) with a %d-class head: timm then runs the head on every token, which anyres does not; give a pooling or drop the head", c.NumClasses)
	case !(c.NormEps > 0):
		return bad("norm eps %g", c.NormEps)
	case c.Act != "" && c.Act != "gelu_erf" && c.Act != "gelu_tanh" && c.Act != "quick_gelu":
		return bad("act %q: want gelu_erf, gelu_tanh or quick_gelu", c.Act)
	case c.SwiGLU && c.Act != "" && c.Act != "gelu_erf":
		return bad("act %q with a SwiGLU MLP (which uses SiLU)", c.Act)
	}
	return nil
}

// timmHeads are the head counts of timm's BEiT widths (model_args.num_heads
// overrides).
var timmHeads = map[int]int{768: 12, 1024: 16}

var sizeSuffix = regexp.MustCompile(`_(\d+)(?:[._]|$)`)

// InferConfig builds the architecture of a timm BEiT checkpoint from its
// tensor shapes and timm's hub config.json (nil when there is none).
func InferConfig(ck nn.Checkpoint, hub *nn.HubConfig) (Config, error) {
	shape := func(name string) []int { return nn.ShapeOf(ck, name) }
	c := Config{AbsPosEmbed: ck.Has("pos_embed"), RelPosBias: ck.Has("blocks.0.attn.relative_position_bias_table"),
		SharedRelPosBias: ck.Has("rel_pos_bias.relative_position_bias_table"), QKVBias: ck.Has("blocks.0.attn.q_bias") || ck.Has("blocks.0.attn.v_bias"),
		SwiGLU: ck.Has("blocks.0.mlp.fc1_g.weight"), ScaleMLP: ck.Has("blocks.0.mlp.norm.weight"),
		LayerScale: ck.Has("blocks.0.gamma_1"), FinalNorm: ck.Has("norm.weight"), FCNorm: ck.Has("fc_norm.weight"),
		NormEps: 1e-6, InChans: 3}
	var arch string
	var args map[string]any
	if hub != nil {
		arch, args = hub.Architecture, hub.ModelArgs
	}
	c.Architecture = arch
	k := shape("patch_embed.proj.weight")
	if len(k) != 4 || k[0] <= 0 || k[1] <= 0 || k[2] <= 0 || k[3] <= 0 {
		return c, fmt.Errorf("%w: patch_embed.proj.weight has shape %v, want out×in×h×w, all positive (is this a timm BEiT?)", ErrConfig, k)
	}
	c.EmbedDim, c.InChans, c.PatchSize = k[0], k[1], [2]int{k[2], k[3]}
	c.Depth = nn.CountBlocks(ck, "blocks.", ".norm1.weight")
	if h := shape("head.weight"); len(h) == 2 {
		c.NumClasses = h[0]
	}
	if fc2 := shape("blocks.0.mlp.fc2.weight"); len(fc2) == 2 {
		c.MLPHidden = fc2[1]
	}
	// Heads: model_args, the bias table's columns, the standard widths.
	tableName := "blocks.0.attn.relative_position_bias_table"
	if c.SharedRelPosBias {
		tableName = "rel_pos_bias.relative_position_bias_table"
	}
	table := shape(tableName)
	switch {
	case hub.HasArg("num_heads"):
		v, _, err := hub.Int("num_heads")
		if err != nil {
			return c, err
		}
		c.NumHeads = v
	case len(table) == 2:
		c.NumHeads = table[1]
	case timmHeads[c.EmbedDim] > 0:
		c.NumHeads = timmHeads[c.EmbedDim]
	default:
		return c, fmt.Errorf("%w: cannot tell the number of attention heads of a %d-wide model; give a config.json with model_args.num_heads", ErrConfig, c.EmbedDim)
	}
	// Training size: model_args img_size, the pretrained input size, the
	// name's suffix, or the square grid the tables say; the tables decide.
	candidates := hub.TrainSizes()
	if m := sizeSuffix.FindAllStringSubmatch(arch, -1); m != nil {
		s, _ := strconv.Atoi(m[len(m)-1][1])
		candidates = append(candidates, [2]int{s, s})
	}
	fits := func(s [2]int) bool {
		gh, gw := s[0]/c.PatchSize[0], s[1]/c.PatchSize[1]
		if gh <= 0 || gw <= 0 {
			return false
		}
		if len(table) == 2 && table[0] != (2*gh-1)*(2*gw-1)+3 {
			return false
		}
		if p := shape("pos_embed"); c.AbsPosEmbed && (len(p) != 3 || p[1] != gh*gw+1) {
			return false
		}
		return true
	}
	if len(table) == 2 { // a square window from the row count
		if s := int(math.Round(math.Sqrt(float64(table[0] - 3)))); s%2 == 1 && s*s == table[0]-3 {
			g := (s + 1) / 2
			candidates = append(candidates, [2]int{g * c.PatchSize[0], g * c.PatchSize[1]})
		}
	} else if p := shape("pos_embed"); c.AbsPosEmbed && len(p) == 3 {
		if s := int(math.Round(math.Sqrt(float64(p[1] - 1)))); s*s == p[1]-1 {
			candidates = append(candidates, [2]int{s * c.PatchSize[0], s * c.PatchSize[1]})
		}
	}
	found := false
	for _, s := range candidates {
		if fits(s) {
			c.ImgSize, found = s, true
			break
		}
	}
	if !found {
		return c, fmt.Errorf("%w: no training size (config %v) at patch %v fits the relative bias table %v and position table", ErrConfig, candidates, c.PatchSize, table)
	}
	// Pooling: the hub config's, model_args', else BEiT's 'avg'.
	c.GlobalPool = "avg"
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
