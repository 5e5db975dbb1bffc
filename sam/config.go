package sam

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/anyres/anyres/nn"
)

// Config is a SAM image encoder (timm VisionTransformerSAM) as plain facts.
type Config struct {
	InChans   int `json:"in_chans"`
	Patch     int `json:"patch_size"`
	Dim       int `json:"embed_dim"`
	Depth     int `json:"depth"`
	Heads     int `json:"num_heads"`
	MLPHidden int `json:"mlp_hidden"`
	// Window is the side of the windowed blocks' windows; the blocks in
	// Global attend over the whole grid.
	Window int   `json:"window_size"`
	Global []int `json:"global_attn_indexes"`
	// RelPos: every block has decomposed relative position tables.
	RelPos bool `json:"use_rel_pos"`
	// PosGrid is the learned table's grid (H, W); zero without one.
	PosGrid    [2]int `json:"pos_grid"`
	NeckChans  int    `json:"neck_chans"` // 0: no neck, the features are the blocks' output
	NumClasses int    `json:"num_classes"`
}

// Layer-norm epsilons: the blocks use nn.LayerNorm's default (timm passes
// norm_layer=nn.LayerNorm), the neck's LayerNorm2d its own 1e-6.
const (
	blockEps = 1e-5
	neckEps  = 1e-6
)

// Limits on what a file may ask for.
const (
	maxDim     = 1 << 14
	maxDepth   = 1 << 10
	maxPatch   = 1 << 10
	maxClasses = 1 << 20
	// maxWindow bounds a window's side (timm's SAM models use 14): the
	// grid pads by up to a window less one per side, and each worker holds
	// one window's qkv rows.
	maxWindow = 64
)

// timmDefaults are the architectures timm registers: heads, global blocks
// and window (shapes cannot tell which blocks are global when the window
// equals the training grid, nor the heads without rel-pos tables).
var timmDefaults = map[string]struct {
	heads, window int
	global        []int
}{
	"samvit_base_patch16":  {12, 14, []int{2, 5, 8, 11}},
	"samvit_large_patch16": {16, 14, []int{5, 11, 17, 23}},
	"samvit_huge_patch16":  {16, 14, []int{7, 15, 23, 31}},
}

// SAMBase is samvit_base_patch16 (ViT-B/16 encoder with its 256-channel
// neck, 1024² training size).
func SAMBase() Config {
	return Config{InChans: 3, Patch: 16, Dim: 768, Depth: 12, Heads: 12, MLPHidden: 3072, Window: 14,
		Global: []int{2, 5, 8, 11}, RelPos: true, PosGrid: [2]int{64, 64}, NeckChans: 256}
}

// JSON is the config as JSON.
func (c Config) JSON() ([]byte, error) { return json.Marshal(c) }

// HeadDim is the width of one attention head.
func (c Config) HeadDim() int { return c.Dim / c.Heads }

// IsGlobal reports whether block b attends over the whole grid.
func (c Config) IsGlobal(b int) bool { return c.Window == 0 || slices.Contains(c.Global, b) }

// OutDim is the width of the features: the neck's channels, or the blocks'.
func (c Config) OutDim() int {
	if c.NeckChans > 0 {
		return c.NeckChans
	}
	return c.Dim
}

// Validate reports a config anyres cannot run.
func (c Config) Validate() error {
	bad := nn.ConfigErrorf
	switch {
	case c.InChans <= 0 || c.InChans > 64:
		return bad("%d input channels", c.InChans)
	case c.Patch <= 0 || c.Patch > maxPatch:
		return bad("patch %d", c.Patch)
	case c.Dim <= 0 || c.Dim > maxDim:
		return bad("width %d", c.Dim)
	case c.Heads <= 0 || c.Dim%c.Heads != 0:
		return bad("width %d does not split into %d heads", c.Dim, c.Heads)
	case c.Depth <= 0 || c.Depth > maxDepth:
		return bad("depth %d", c.Depth)
	case c.MLPHidden <= 0 || c.MLPHidden > 16*maxDim:
		return bad("MLP width %d", c.MLPHidden)
	case c.Window < 0 || c.Window > maxWindow:
		return bad("window %d (want 0, for none, to %d)", c.Window, maxWindow)
	case c.NeckChans < 0 || c.NeckChans > maxDim:
		return bad("neck width %d", c.NeckChans)
	case c.NumClasses < 0 || c.NumClasses > maxClasses:
		return bad("%d classes", c.NumClasses)
	case (c.PosGrid[0] == 0) != (c.PosGrid[1] == 0) || c.PosGrid[0] < 0 || c.PosGrid[1] < 0 || c.PosGrid[0] > maxPatch || c.PosGrid[1] > maxPatch:
		return bad("position table grid %v", c.PosGrid)
	}
	for _, g := range c.Global {
		if g < 0 || g >= c.Depth {
			return bad("global block %d of a depth of %d", g, c.Depth)
		}
	}
	return nil
}

// InferConfig reads the architecture of a timm SAM checkpoint from its
// tensor shapes, with the window, global blocks and heads from the hub
// config's model_args or timm's defaults for the architecture name. A
// config that contradicts the tensors is an error.
func InferConfig(ck nn.Checkpoint, hub *nn.HubConfig) (Config, error) {
	var c Config
	bad := func(f string, a ...any) (Config, error) {
		return c, fmt.Errorf("%w: "+f, append([]any{nn.ErrConfig}, a...)...)
	}
	shape := func(name string) []int { return nn.ShapeOf(ck, name) }
	pe := shape("patch_embed.proj.weight")
	if len(pe) != 4 || pe[2] != pe[3] || pe[0] <= 0 {
		return bad("patch_embed.proj.weight has shape %v, want [dim, channels, p, p] (is this a timm SAM checkpoint?)", pe)
	}
	c.Dim, c.InChans, c.Patch = pe[0], pe[1], pe[2]
	for ck.Has("blocks." + strconv.Itoa(c.Depth) + ".attn.qkv.weight") {
		c.Depth++
		if c.Depth > maxDepth {
			return bad("more than %d blocks", maxDepth)
		}
	}
	if c.Depth == 0 {
		return bad("no blocks.0.attn.qkv.weight")
	}
	if f := shape("blocks.0.mlp.fc1.weight"); len(f) == 2 {
		c.MLPHidden = f[0]
	}
	if p := shape("pos_embed"); p != nil {
		if len(p) != 4 || p[0] != 1 || p[3] != c.Dim {
			return bad("pos_embed has shape %v, want [1, H, W, %d]", p, c.Dim)
		}
		c.PosGrid = [2]int{p[1], p[2]}
	}
	if n := shape("neck.0.weight"); n != nil {
		if len(n) != 4 || n[1] != c.Dim || n[2] != 1 || n[3] != 1 {
			return bad("neck.0.weight has shape %v, want [chans, %d, 1, 1]", n, c.Dim)
		}
		c.NeckChans = n[0]
	}
	if h := shape("head.fc.weight"); len(h) == 2 {
		c.NumClasses = h[0]
	}

	arch := ""
	if hub != nil {
		arch = hub.Architecture
	}
	def, known := timmDefaults[strings.SplitN(arch, ".", 2)[0]]
	relH := shape("blocks.0.attn.rel_pos_h")
	c.RelPos = relH != nil
	if v, ok := modelArgs(hub)["use_rel_pos"].(bool); ok && v != c.RelPos {
		return bad("config.json says use_rel_pos %v, but the file has %s relative position tables", v, map[bool]string{true: "", false: "no"}[c.RelPos])
	}
	// Heads: from the rel-pos tables' width, else the config, else timm's.
	if c.RelPos {
		if len(relH) != 2 || relH[1] <= 0 || c.Dim%relH[1] != 0 {
			return bad("blocks.0.attn.rel_pos_h has shape %v, want [rows, head_dim] with head_dim dividing %d", relH, c.Dim)
		}
		c.Heads = c.Dim / relH[1]
	}
	if v, ok := hub.Arg("num_heads"); ok {
		if c.Heads != 0 && int(v) != c.Heads {
			return bad("config.json says %v heads, the relative position tables are %d wide (%d heads)", v, relH[1], c.Heads)
		}
		c.Heads = int(v)
	}
	if c.Heads == 0 && known {
		c.Heads = def.heads
	}
	if c.Heads == 0 {
		return bad("cannot tell the heads (no relative position tables); give a config.json with model_args.num_heads")
	}
	// Window and global blocks: the config, else timm's for the name.
	c.Window, c.Global = -1, nil
	if hub.HasArg("window_size") {
		v, ok := hub.Arg("window_size")
		if !ok || v < 0 || v != float64(int(v)) {
			return bad("model_args.window_size %v is not a whole number", modelArgs(hub)["window_size"])
		}
		c.Window = int(v)
	}
	if hub.HasArg("global_attn_indexes") {
		list, ok := modelArgs(hub)["global_attn_indexes"].([]any)
		if !ok {
			return bad("model_args.global_attn_indexes is not a list")
		}
		c.Global = []int{}
		for _, x := range list {
			f, ok := x.(float64)
			if !ok || f != float64(int(f)) {
				return bad("model_args.global_attn_indexes holds %v", x)
			}
			c.Global = append(c.Global, int(f))
		}
	}
	if known {
		if c.Window < 0 {
			c.Window = def.window
		}
		if c.Global == nil {
			c.Global = def.global
		}
	}
	if c.Window < 0 || c.Global == nil {
		return bad("cannot tell the window size and global blocks of %q; give a config.json with model_args.window_size and global_attn_indexes", arch)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("inferred config: %w", err)
	}
	if err := checkArgs(c, hub); err != nil {
		return c, err
	}
	// The windowed blocks' tables are sized by the window (timm's input_size
	// of a windowed Attention): a file whose tables say otherwise was built
	// with another window.
	if c.RelPos && c.Window > 0 {
		for b := 0; b < c.Depth; b++ {
			if c.IsGlobal(b) {
				continue
			}
			for _, axis := range []string{"h", "w"} {
				name := "blocks." + strconv.Itoa(b) + ".attn.rel_pos_" + axis
				if s := shape(name); len(s) == 2 && s[0] != 2*c.Window-1 {
					return bad("%s has %d rows, but a window of %d (block %d is windowed) gives %d: the config contradicts the file",
						name, s[0], c.Window, b, 2*c.Window-1)
				}
			}
		}
	}
	return c, nil
}

// modelArgs is the hub config's model_args (nil without a config).
func modelArgs(hub *nn.HubConfig) map[string]any {
	if hub == nil {
		return nil
	}
	return hub.ModelArgs
}

// checkArgs refuses a hub config whose model_args contradict what the
// tensors say, or ask for what anyres does not run.
func checkArgs(c Config, hub *nn.HubConfig) error {
	bad := nn.ConfigErrorf
	for key, have := range map[string]int{"embed_dim": c.Dim, "depth": c.Depth, "patch_size": c.Patch,
		"in_chans": c.InChans, "neck_chans": c.NeckChans, "num_classes": c.NumClasses} {
		if v, ok := hub.Arg(key); ok && v != float64(have) {
			return bad("config.json says %s %v, the tensors %d: the config contradicts the file", key, v, have)
		}
	}
	if v, ok := hub.Arg("mlp_ratio"); ok && math.Abs(v*float64(c.Dim)-float64(c.MLPHidden)) >= 1 {
		return bad("config.json says mlp_ratio %v, the tensors an MLP of %d for width %d: the config contradicts the file", v, c.MLPHidden, c.Dim)
	}
	if s, ok := nn.SizePair(modelArgs(hub)["img_size"]); ok && c.PosGrid != ([2]int{}) &&
		(s[0]/c.Patch != c.PosGrid[0] || s[1]/c.Patch != c.PosGrid[1]) {
		return bad("config.json says img_size %v, but pos_embed is a %d×%d grid of %d-pixel patches: the config contradicts the file", s, c.PosGrid[0], c.PosGrid[1], c.Patch)
	}
	if v, ok := modelArgs(hub)["use_abs_pos"].(bool); ok && v != (c.PosGrid != [2]int{}) {
		return bad("config.json says use_abs_pos %v, but the file has%s pos_embed", v, map[bool]string{true: "", false: " no"}[c.PosGrid != [2]int{}])
	}
	for _, key := range []string{"use_rope", "qk_norm", "pre_norm"} {
		if v, ok := modelArgs(hub)[key].(bool); ok && v {
			return bad("model_args.%s is not supported by the sam family", key)
		}
	}
	for _, key := range []string{"init_values", "head_hidden_size"} {
		if v, ok := modelArgs(hub)[key]; ok && v != nil {
			return bad("model_args.%s %v is not supported by the sam family", key, v)
		}
	}
	pool := ""
	if v, ok := modelArgs(hub)["global_pool"].(string); ok {
		pool = v
	} else if hub != nil && hub.GlobalPool != nil {
		pool = *hub.GlobalPool
	}
	if pool != "" && pool != "avg" {
		return bad("global_pool %q: the sam family pools by the mean (timm's avg)", pool)
	}
	return nil
}
