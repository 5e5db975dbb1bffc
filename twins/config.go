package twins

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/anyres/anyres/nn"
)

// Config is a Twins-PCPVT architecture as plain facts: one entry per stage
// in each list.
type Config struct {
	InChans    int   `json:"in_chans"`
	Patch      []int `json:"patch_sizes"` // patch embedding stride per stage (timm: 4, then 2)
	Dims       []int `json:"embed_dims"`
	Heads      []int `json:"num_heads"`
	Depths     []int `json:"depths"`
	SR         []int `json:"sr_ratios"`
	MLPHidden  []int `json:"mlp_hidden"`
	NumClasses int   `json:"num_classes"`
}

// Layer-norm epsilons: timm builds the blocks and the final norm with
// eps 1e-6, but the patch embeddings' and the spatial reductions' norms
// with nn.LayerNorm's default.
const (
	blockEps = 1e-6
	torchEps = 1e-5
)

// Limits on what a file may ask for.
const (
	maxStages  = 8
	maxDim     = 1 << 14
	maxDepth   = 1 << 10
	maxKernel  = 64
	maxClasses = 1 << 20
)

// PCPVTSmall is timm's twins_pcpvt_small (ImageNet-1k head).
func PCPVTSmall() Config {
	return Config{InChans: 3, Patch: []int{4, 2, 2, 2}, Dims: []int{64, 128, 320, 512}, Heads: []int{1, 2, 5, 8},
		Depths: []int{3, 4, 6, 3}, SR: []int{8, 4, 2, 1}, MLPHidden: []int{512, 1024, 1280, 2048}, NumClasses: 1000}
}

// JSON is the config as JSON.
func (c Config) JSON() ([]byte, error) { return json.Marshal(c) }

// Stages is the number of stages.
func (c Config) Stages() int { return len(c.Dims) }

// Validate reports a config anyres cannot run.
func (c Config) Validate() error {
	bad := func(f string, a ...any) error { return fmt.Errorf("%w: "+f, append([]any{nn.ErrConfig}, a...)...) }
	s := len(c.Dims)
	if s == 0 || s > maxStages {
		return bad("%d stages (want 1..%d)", s, maxStages)
	}
	if len(c.Patch) != s || len(c.Heads) != s || len(c.Depths) != s || len(c.SR) != s || len(c.MLPHidden) != s {
		return bad("per-stage lists of different lengths: patch %d, dims %d, heads %d, depths %d, sr %d, mlp %d",
			len(c.Patch), s, len(c.Heads), len(c.Depths), len(c.SR), len(c.MLPHidden))
	}
	if c.InChans <= 0 || c.InChans > 64 {
		return bad("%d input channels", c.InChans)
	}
	if c.NumClasses < 0 || c.NumClasses > maxClasses {
		return bad("%d classes", c.NumClasses)
	}
	for i := 0; i < s; i++ {
		switch d := c.Dims[i]; {
		case d <= 0 || d > maxDim:
			return bad("stage %d: width %d", i, d)
		case c.Heads[i] <= 0 || d%c.Heads[i] != 0:
			return bad("stage %d: width %d does not split into %d heads", i, d, c.Heads[i])
		case c.Depths[i] <= 0 || c.Depths[i] > maxDepth:
			return bad("stage %d: depth %d (each stage needs a block, the one its PEG follows)", i, c.Depths[i])
		case c.Patch[i] <= 0 || c.Patch[i] > maxKernel:
			return bad("stage %d: patch %d", i, c.Patch[i])
		case c.SR[i] <= 0 || c.SR[i] > maxKernel:
			return bad("stage %d: spatial reduction %d", i, c.SR[i])
		case c.MLPHidden[i] <= 0 || c.MLPHidden[i] > 16*maxDim:
			return bad("stage %d: MLP width %d", i, c.MLPHidden[i])
		}
	}
	return nil
}

// timmHeads are the head counts of the PCPVT widths (shapes cannot tell).
var timmHeads = map[int]int{64: 1, 128: 2, 320: 5, 512: 8}

// InferConfig reads the architecture of a timm Twins-PCPVT checkpoint from
// its tensor shapes, with head counts from the hub config's
// model_args.num_heads or timm's PCPVT defaults.
func InferConfig(ck nn.Checkpoint, hub *nn.HubConfig) (Config, error) {
	var c Config
	shape := func(name string) []int {
		s, err := ck.Shape(name)
		if err != nil {
			return nil
		}
		return s
	}
	if ck.Has("blocks.0.0.attn.qkv.weight") {
		return c, fmt.Errorf("%w: blocks.0.0.attn.qkv.weight: locally grouped attention (Twins-SVT) is not supported, only Twins-PCPVT", nn.ErrConfig)
	}
	var heads []any
	if hub != nil {
		heads, _ = hub.ModelArgs["num_heads"].([]any)
	}
	for s := 0; ; s++ {
		p := "patch_embeds." + strconv.Itoa(s) + ".proj.weight"
		k := shape(p)
		if k == nil {
			break
		}
		if s >= maxStages {
			return c, fmt.Errorf("%w: more than %d stages", nn.ErrConfig, maxStages)
		}
		if len(k) != 4 || k[2] != k[3] || k[0] <= 0 {
			return c, fmt.Errorf("%w: %s has shape %v, want [dim, in, p, p]", nn.ErrConfig, p, k)
		}
		if s == 0 {
			c.InChans = k[1]
		}
		c.Dims, c.Patch = append(c.Dims, k[0]), append(c.Patch, k[2])
		depth := 0
		for ck.Has("blocks." + strconv.Itoa(s) + "." + strconv.Itoa(depth) + ".attn.q.weight") {
			depth++
		}
		c.Depths = append(c.Depths, depth)
		sr := 1
		if w := shape("blocks." + strconv.Itoa(s) + ".0.attn.sr.weight"); len(w) == 4 {
			sr = w[2]
		}
		c.SR = append(c.SR, sr)
		hid := 0
		if w := shape("blocks." + strconv.Itoa(s) + ".0.mlp.fc1.weight"); len(w) == 2 {
			hid = w[0]
		}
		c.MLPHidden = append(c.MLPHidden, hid)
		h := timmHeads[k[0]]
		if s < len(heads) {
			if v, ok := heads[s].(float64); ok {
				h = int(v)
			}
		}
		if h == 0 {
			return c, fmt.Errorf("%w: cannot tell the heads of stage %d (width %d, not a timm PCPVT width); give a config.json with model_args.num_heads", nn.ErrConfig, s, k[0])
		}
		c.Heads = append(c.Heads, h)
	}
	if len(c.Dims) == 0 {
		return c, fmt.Errorf("%w: no patch_embeds.0.proj.weight (is this a timm Twins checkpoint?)", nn.ErrConfig)
	}
	// model_args.num_heads, when given, is one whole number per stage: a
	// short list must not leave a stage to the width's default.
	if hub.HasArg("num_heads") {
		h, _, err := hub.Ints("num_heads", len(c.Dims))
		if _, single := hub.ModelArgs["num_heads"].(float64); err != nil || single {
			return c, fmt.Errorf("%w: model_args.num_heads %v: want a list of %d whole numbers, one per stage", nn.ErrConfig, hub.ModelArgs["num_heads"], len(c.Dims))
		}
		c.Heads = h
	}
	if h := shape("head.weight"); len(h) == 2 {
		c.NumClasses = h[0]
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("inferred config: %w", err)
	}
	return c, nil
}
