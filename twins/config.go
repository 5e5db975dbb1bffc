package twins

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/anyres/anyres/nn"
)

// Config is a Twins architecture as plain facts: one entry per stage in
// each list.
type Config struct {
	InChans   int   `json:"in_chans"`
	Patch     []int `json:"patch_sizes"` // patch embedding stride per stage (timm: 4, then 2)
	Dims      []int `json:"embed_dims"`
	Heads     []int `json:"num_heads"`
	Depths    []int `json:"depths"`
	SR        []int `json:"sr_ratios"`
	MLPHidden []int `json:"mlp_hidden"`
	// WSS (Twins-SVT; empty for PCPVT) is each stage's window side: its
	// even blocks (0, 2, ...) run locally-grouped attention in ws×ws
	// windows, its odd ones global sub-sampled attention, as timm builds
	// them; a window side of 1 means global attention in every block.
	WSS        []int `json:"wss,omitempty"`
	NumClasses int   `json:"num_classes"`
}

// Local reports whether block j of stage s runs locally-grouped attention.
func (c Config) Local(s, j int) bool { return len(c.WSS) > 0 && c.WSS[s] > 1 && j%2 == 0 }

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

// SVTSmall is timm's twins_svt_small (ImageNet-1k head).
func SVTSmall() Config {
	return Config{InChans: 3, Patch: []int{4, 2, 2, 2}, Dims: []int{64, 128, 256, 512}, Heads: []int{2, 4, 8, 16},
		Depths: []int{2, 2, 10, 4}, SR: []int{8, 4, 2, 1}, MLPHidden: []int{256, 512, 1024, 2048}, WSS: []int{7, 7, 7, 7},
		NumClasses: 1000}
}

// JSON is the config as JSON.
func (c Config) JSON() ([]byte, error) { return json.Marshal(c) }

// Stages is the number of stages.
func (c Config) Stages() int { return len(c.Dims) }

// Validate reports a config anyres cannot run.
func (c Config) Validate() error {
	bad := nn.ConfigErrorf
	s := len(c.Dims)
	if s == 0 || s > maxStages {
		return bad("%d stages (want 1..%d)", s, maxStages)
	}
	if len(c.Patch) != s || len(c.Heads) != s || len(c.Depths) != s || len(c.SR) != s || len(c.MLPHidden) != s {
		return bad("per-stage lists of different lengths: patch %d, dims %d, heads %d, depths %d, sr %d, mlp %d",
			len(c.Patch), s, len(c.Heads), len(c.Depths), len(c.SR), len(c.MLPHidden))
	}
	if len(c.WSS) != 0 && len(c.WSS) != s {
		return bad("%d window sides (wss) for %d stages", len(c.WSS), s)
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
		case len(c.WSS) > 0 && (c.WSS[i] <= 0 || c.WSS[i] > maxKernel):
			return bad("stage %d: window side %d", i, c.WSS[i])
		}
	}
	return nil
}

// timmHeads are the head counts of the PCPVT widths (shapes cannot tell);
// every Twins-SVT has one head per 32 channels, and windows of 7.
var timmHeads = map[int]int{64: 1, 128: 2, 320: 5, 512: 8}

const (
	svtHeadWidth = 32
	timmWindow   = 7
)

// InferConfig reads the architecture of a timm Twins checkpoint (PCPVT,
// or SVT where blocks have a fused qkv: locally-grouped attention) from
// its tensor shapes. Head counts and window sides come from the hub
// config's model_args (num_heads, wss) or timm's defaults; model_args that
// contradict the tensors are refused.
func InferConfig(ck nn.Checkpoint, hub *nn.HubConfig) (Config, error) {
	var c Config
	bad := nn.ConfigErrorf
	shape := func(name string) []int { return nn.ShapeOf(ck, name) }
	block := func(s, j int, rest string) string {
		return "blocks." + strconv.Itoa(s) + "." + strconv.Itoa(j) + "." + rest
	}
	args := map[string][]int{}
	for _, k := range []string{"num_heads", "wss", "embed_dims", "depths", "sr_ratios"} {
		if !hub.HasArg(k) {
			continue
		}
		v, ok := intList(hub.ModelArgs[k])
		if !ok {
			return c, bad("config.json model_args.%s is %v, want a list of whole numbers", k, hub.ModelArgs[k])
		}
		args[k] = v
	}
	var local []bool
	for s := 0; ; s++ {
		p := "patch_embeds." + strconv.Itoa(s) + ".proj.weight"
		k := shape(p)
		if k == nil {
			break
		}
		if s >= maxStages {
			return c, bad("more than %d stages", maxStages)
		}
		if len(k) != 4 || k[2] != k[3] || k[0] <= 0 {
			return c, bad("%s has shape %v, want [dim, in, p, p]", p, k)
		}
		if s == 0 {
			c.InChans = k[1]
		}
		c.Dims, c.Patch = append(c.Dims, k[0]), append(c.Patch, k[2])
		depth := 0
		for ck.Has(block(s, depth, "norm1.weight")) {
			depth++
		}
		c.Depths = append(c.Depths, depth)
		local = append(local, ck.Has(block(s, 0, "attn.qkv.weight")))
		// The spatial reduction shows in the first block with global
		// attention that has one; a stage without such a block keeps
		// model_args' ratio (or 1: it is never used).
		sr, seen := 1, false
		for j := 0; j < depth && !seen; j++ {
			if ck.Has(block(s, j, "attn.q.weight")) {
				seen = true
				if w := shape(block(s, j, "attn.sr.weight")); len(w) == 4 {
					sr = w[2]
				}
			}
		}
		if a, ok := args["sr_ratios"]; ok && s < len(a) {
			if seen && a[s] != sr {
				return c, bad("config.json model_args.sr_ratios[%d] is %d, the checkpoint's stage %d reduces by %d", s, a[s], s, sr)
			}
			sr = a[s]
		}
		c.SR = append(c.SR, sr)
		hid := 0
		if w := shape(block(s, 0, "mlp.fc1.weight")); len(w) == 2 {
			hid = w[0]
		}
		c.MLPHidden = append(c.MLPHidden, hid)
	}
	if len(c.Dims) == 0 {
		return c, bad("no patch_embeds.0.proj.weight (is this a timm Twins checkpoint?)")
	}
	svt := false
	for _, l := range local {
		svt = svt || l
	}
	if arch := hubArch(hub); svt && strings.HasPrefix(arch, "twins_pcpvt_") {
		return c, bad("config.json names %s, but blocks.*.0.attn.qkv.weight is locally-grouped attention (Twins-SVT)", arch)
	} else if !svt && strings.HasPrefix(arch, "twins_svt_") {
		return c, bad("config.json names %s, but no block has locally-grouped attention (blocks.*.0.attn.qkv.weight)", arch)
	}
	for _, k := range []string{"embed_dims", "depths"} {
		got := map[string][]int{"embed_dims": c.Dims, "depths": c.Depths}[k]
		if a, ok := args[k]; ok && fmt.Sprint(a) != fmt.Sprint(got) {
			return c, bad("config.json model_args.%s is %v, the checkpoint's tensors give %v", k, a, got)
		}
	}
	for _, k := range []string{"num_heads", "wss", "sr_ratios"} {
		if a, ok := args[k]; ok && len(a) != len(c.Dims) {
			return c, bad("config.json model_args.%s has %d entries for %d stages", k, len(a), len(c.Dims))
		}
	}
	wss, hasWSS := args["wss"]
	for s, d := range c.Dims {
		switch h, ok := args["num_heads"]; {
		case ok:
			c.Heads = append(c.Heads, h[s])
		case svt && d%svtHeadWidth == 0:
			c.Heads = append(c.Heads, d/svtHeadWidth)
		case !svt && timmHeads[d] > 0:
			c.Heads = append(c.Heads, timmHeads[d])
		default:
			return c, bad("cannot tell the heads of stage %d (width %d, not a timm Twins width); give a config.json with model_args.num_heads", s, d)
		}
		if !svt {
			continue
		}
		ws := 1
		if local[s] {
			ws = timmWindow
		}
		if hasWSS {
			if (wss[s] > 1) != local[s] {
				return c, bad("config.json model_args.wss[%d] is %d, but the checkpoint's stage %d %s locally-grouped attention", s, wss[s], s,
					map[bool]string{true: "has", false: "has no"}[local[s]])
			}
			ws = wss[s]
		}
		c.WSS = append(c.WSS, ws)
	}
	if !svt && hasWSS {
		for s, ws := range wss {
			if ws > 1 {
				return c, bad("config.json model_args.wss[%d] is %d, but the checkpoint has no locally-grouped attention (blocks.%d.0.attn.qkv.weight)", s, ws, s)
			}
		}
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

func hubArch(h *nn.HubConfig) string {
	if h == nil {
		return ""
	}
	return h.Architecture
}

// intList reads a JSON list of whole numbers in 1..2^20.
func intList(v any) ([]int, bool) {
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]int, len(l))
	for i, e := range l {
		_, num := e.(float64)
		p, ok := nn.SizePair(e)
		if !num || !ok {
			return nil, false
		}
		out[i] = p[0]
	}
	return out, true
}
