package hiera

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/anyres/anyres/nn"
)

// Config is a Hiera architecture as plain facts (timm's Hiera arguments,
// the widths and MLP sizes read from the tensors).
type Config struct {
	InChans      int    `json:"in_chans"`
	EmbedDim     int    `json:"embed_dim"` // first stage width
	Heads        int    `json:"num_heads"` // first stage heads
	Stages       []int  `json:"stages"`    // blocks per stage
	QStride      [2]int `json:"q_stride"`
	MaskUnit     [2]int `json:"mask_unit_size"`
	MaskUnitAttn []bool `json:"mask_unit_attn"`
	DimMul       int    `json:"dim_mul"`
	HeadMul      int    `json:"head_mul"`
	PatchKernel  [2]int `json:"patch_kernel"`
	PatchStride  [2]int `json:"patch_stride"`
	PatchPad     [2]int `json:"patch_padding"`
	MLPHidden    []int  `json:"mlp_hidden"` // per stage
	ExpandProj   bool   `json:"use_expand_proj"`
	GlobalPos    [2]int `json:"global_pos_size"` // the pos_embed table's grid
	LayerScale   bool   `json:"layer_scale"`     // ls1/ls2 gammas (init_values)
	NumClasses   int    `json:"num_classes"`
}

// eps is timm's LayerNorm (get_norm_layer("LayerNorm")) epsilon, for the
// blocks and the head.
const eps = 1e-6

// Limits on what a file may ask for.
const (
	maxStages  = 8
	maxDim     = 1 << 14
	maxDepth   = 1 << 10
	maxKernel  = 64
	maxClasses = 1 << 20
)

// JSON is the config as JSON.
func (c Config) JSON() ([]byte, error) { return json.Marshal(c) }

// Unrolls is the number of times the tokens are unrolled by QStride (one
// per stage boundary; each q-pooling consumes one).
func (c Config) Unrolls() int { return len(c.Stages) - 1 }

// Align is the token-grid multiple an image must give: every unroll
// halves (QStride) the grid and the mask units tile it.
func (c Config) Align() [2]int {
	a := [2]int{1, 1}
	for i := 0; i < c.Unrolls(); i++ {
		a[0], a[1] = a[0]*c.QStride[0], a[1]*c.QStride[1]
	}
	return [2]int{lcm(a[0], c.MaskUnit[0]), lcm(a[1], c.MaskUnit[1])}
}

// PixelAlign is the image-size multiple: Align tokens of PatchStride
// pixels.
func (c Config) PixelAlign() [2]int {
	a := c.Align()
	return [2]int{a[0] * c.PatchStride[0], a[1] * c.PatchStride[1]}
}

func lcm(a, b int) int {
	g, h := a, b
	for h != 0 {
		g, h = h, g%h
	}
	return a / g * b
}

// Validate reports a config anyres cannot run.
func (c Config) Validate() error {
	bad := nn.ConfigErrorf
	s := len(c.Stages)
	switch {
	case s == 0 || s > maxStages:
		return bad("%d stages (want 1..%d)", s, maxStages)
	case len(c.MaskUnitAttn) != s || len(c.MLPHidden) != s:
		return bad("per-stage lists of different lengths: stages %d, mask_unit_attn %d, mlp %d", s, len(c.MaskUnitAttn), len(c.MLPHidden))
	case c.InChans <= 0 || c.InChans > 64:
		return bad("%d input channels", c.InChans)
	case c.NumClasses < 0 || c.NumClasses > maxClasses:
		return bad("%d classes", c.NumClasses)
	case c.DimMul < 1 || c.HeadMul < 1 || c.DimMul > 8 || c.HeadMul > 8:
		return bad("dim_mul %d, head_mul %d (whole numbers 1..8)", c.DimMul, c.HeadMul)
	case s > 1 && c.DimMul == 1:
		return bad("dim_mul 1: q-pooling needs the width to grow at each stage (timm pools the residual only then)")
	case !c.ExpandProj && s > 1 && c.DimMul != 2:
		return bad("use_expand_proj false needs dim_mul 2 (max and mean pools side by side), not %d", c.DimMul)
	}
	for _, p := range [][2]int{c.QStride, c.MaskUnit, c.PatchKernel, c.PatchStride, c.GlobalPos} {
		if p[0] <= 0 || p[1] <= 0 || p[0] > maxKernel || p[1] > maxKernel {
			return bad("sizes q_stride %v, mask_unit_size %v, patch_kernel %v, patch_stride %v, global_pos_size %v: each 1..%d",
				c.QStride, c.MaskUnit, c.PatchKernel, c.PatchStride, c.GlobalPos, maxKernel)
		}
	}
	for i := range 2 {
		// timm unrolls image/stride tokens: the convolution must give
		// exactly that many, k − s ≤ 2p < k
		if k, s, p := c.PatchKernel[i], c.PatchStride[i], c.PatchPad[i]; p < 0 || 2*p >= k || 2*p < k-s {
			return bad("patch kernel %v, stride %v, padding %v: the convolution must give image/stride tokens", c.PatchKernel, c.PatchStride, c.PatchPad)
		}
	}
	// the mask unit must shrink by QStride at every pooling and stay whole
	mu := c.MaskUnit[0] * c.MaskUnit[1]
	for i := 0; i < c.Unrolls(); i++ {
		if mu%(c.QStride[0]*c.QStride[1]) != 0 {
			return bad("mask unit %v does not shrink by q_stride %v %d times", c.MaskUnit, c.QStride, c.Unrolls())
		}
		mu /= c.QStride[0] * c.QStride[1]
	}
	d, h := c.EmbedDim, c.Heads
	for i, n := range c.Stages {
		if i > 0 {
			d, h = d*c.DimMul, h*c.HeadMul
		}
		switch {
		case n <= 0 || n > maxDepth:
			return bad("stage %d: %d blocks", i, n)
		case d <= 0 || d > maxDim:
			return bad("stage %d: width %d", i, d)
		case h <= 0 || d%h != 0:
			return bad("stage %d: width %d does not split into %d heads", i, d, h)
		case c.MLPHidden[i] <= 0 || c.MLPHidden[i] > 16*maxDim:
			return bad("stage %d: MLP width %d", i, c.MLPHidden[i])
		}
	}
	return nil
}

// timmHeads are the first-stage head counts of timm's Hiera widths (shapes
// cannot tell).
var timmHeads = map[int]int{96: 1, 112: 2, 144: 2, 256: 4}

// InferConfig reads a timm Hiera checkpoint's architecture (with an
// absolute windowed position table, abs_win_pos_embed) from its tensor
// shapes, and what shapes cannot tell (heads, strides, which stages use
// mask-unit attention) from the hub config's model_args or timm's
// defaults; model_args that contradict the tensors are refused.
func InferConfig(ck nn.Checkpoint, hub *nn.HubConfig) (Config, error) {
	bad := nn.ConfigErrorf
	shape := func(name string) []int { return nn.ShapeOf(ck, name) }
	c := Config{QStride: [2]int{2, 2}, MaskUnitAttn: []bool{true, true, false, false}, DimMul: 2, HeadMul: 2,
		PatchStride: [2]int{4, 4}, PatchPad: [2]int{3, 3}, ExpandProj: true}
	k := shape("patch_embed.proj.weight")
	if len(k) != 4 {
		return c, bad("patch_embed.proj.weight has shape %v, want [dim, in, kh, kw] (is this a timm Hiera checkpoint?)", k)
	}
	c.EmbedDim, c.InChans, c.PatchKernel = k[0], k[1], [2]int{k[2], k[3]}
	switch {
	case ck.Has("pos_embed_spatial.weight") || ck.Has("pos_embed_spatial"):
		return c, bad("pos_embed_spatial: separate space-time tables (video Hiera) are not supported")
	case !ck.Has("pos_embed_win"):
		return c, bad("no pos_embed_win: only Hiera with abs_win_pos_embed (a global table plus a per-window one) runs at any size; a plain pos_embed is tied to its training grid")
	}
	pw, pg := shape("pos_embed_win"), shape("pos_embed")
	if len(pw) != 4 || pw[0] != 1 || pw[1] != c.EmbedDim {
		return c, bad("pos_embed_win has shape %v, want [1, %d, muh, muw]", pw, c.EmbedDim)
	}
	if len(pg) != 4 || pg[0] != 1 || pg[1] != c.EmbedDim {
		return c, bad("pos_embed has shape %v, want [1, %d, h, w]", pg, c.EmbedDim)
	}
	c.MaskUnit, c.GlobalPos = [2]int{pw[2], pw[3]}, [2]int{pg[2], pg[3]}
	// Stages: a new one starts where a block widens its tokens.
	prev := c.EmbedDim
	for i := 0; ck.Has("blocks." + strconv.Itoa(i) + ".norm1.weight"); i++ {
		if i >= maxDepth*maxStages {
			return c, bad("more than %d blocks", maxDepth*maxStages)
		}
		b := "blocks." + strconv.Itoa(i) + "."
		q := shape(b + "attn.qkv.weight")
		if len(q) != 2 || q[0]%3 != 0 || q[1] != prev {
			return c, bad("%sattn.qkv.weight has shape %v, want [3·width, %d]", b, q, prev)
		}
		out := q[0] / 3
		if i == 0 || out != prev {
			if len(c.Stages) >= maxStages {
				return c, bad("more than %d stages", maxStages)
			}
			c.Stages = append(c.Stages, 0)
			hid := 0
			if f := shape(b + "mlp.fc1.weight"); len(f) == 2 {
				hid = f[0]
			}
			c.MLPHidden = append(c.MLPHidden, hid)
			if i > 0 {
				c.ExpandProj = ck.Has(b + "proj.weight")
				if prev == 0 || out%prev != 0 {
					return c, bad("%s widens %d to %d, not a whole multiple", b, prev, out)
				}
				c.DimMul = out / prev
			}
		}
		c.Stages[len(c.Stages)-1]++
		prev = out
	}
	if len(c.Stages) == 0 {
		return c, bad("no blocks.0.norm1.weight")
	}
	c.LayerScale = ck.Has("blocks.0.ls1.gamma")
	if h := shape("head.fc.weight"); len(h) == 2 {
		c.NumClasses = h[0]
	}
	c.Heads = timmHeads[c.EmbedDim]
	c.MaskUnitAttn = append([]bool(nil), c.MaskUnitAttn...)
	for len(c.MaskUnitAttn) < len(c.Stages) {
		c.MaskUnitAttn = append(c.MaskUnitAttn, false)
	}
	c.MaskUnitAttn = c.MaskUnitAttn[:len(c.Stages)]
	if err := c.fromArgs(hub); err != nil {
		return c, err
	}
	if c.Heads == 0 {
		return c, bad("cannot tell the heads of width %d (not a timm Hiera width); give a config.json with model_args.num_heads", c.EmbedDim)
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("inferred config: %w", err)
	}
	return c, nil
}

// fromArgs takes what model_args says, refusing what contradicts the
// tensors.
func (c *Config) fromArgs(hub *nn.HubConfig) error {
	if hub == nil {
		return nil
	}
	bad := func(f string, a ...any) error {
		return fmt.Errorf("%w: config.json model_args."+f, append([]any{nn.ErrConfig}, a...)...)
	}
	num := func(key string) (int, bool, error) {
		v, ok := hub.Arg(key)
		if !hub.HasArg(key) {
			return 0, false, nil
		}
		if !ok || v != float64(int(v)) || v < 0 || v > 1<<20 {
			return 0, false, bad("%s is %v, want a whole number", key, hub.ModelArgs[key])
		}
		return int(v), true, nil
	}
	pair := func(key string, dst *[2]int, fixed bool) error {
		if !hub.HasArg(key) {
			return nil
		}
		p, ok := nn.SizePair(hub.ModelArgs[key])
		if !ok {
			return bad("%s is %v, want a size", key, hub.ModelArgs[key])
		}
		if fixed && p != *dst {
			return bad("%s is %v, the checkpoint's tensors give %v", key, p, *dst)
		}
		*dst = p
		return nil
	}
	if v, ok, err := num("embed_dim"); err != nil {
		return err
	} else if ok && v != c.EmbedDim {
		return bad("embed_dim is %d, the checkpoint's is %d", v, c.EmbedDim)
	}
	if v, ok, err := num("num_heads"); err != nil {
		return err
	} else if ok {
		c.Heads = v
	}
	for _, key := range []string{"dim_mul", "head_mul"} {
		v, ok := hub.Arg(key)
		if !hub.HasArg(key) {
			continue
		}
		if !ok || v != float64(int(v)) || v < 1 {
			return bad("%s is %v, want a whole number (anyres runs whole multipliers)", key, hub.ModelArgs[key])
		}
		if key == "dim_mul" && len(c.Stages) > 1 && int(v) != c.DimMul {
			return bad("dim_mul is %v, the checkpoint's stages widen by %d", v, c.DimMul)
		}
		if key == "head_mul" {
			c.HeadMul = int(v)
		}
	}
	if hub.HasArg("stages") {
		l, ok := hub.ModelArgs["stages"].([]any)
		if !ok || fmt.Sprint(l) != fmt.Sprint(intsAny(c.Stages)) {
			return bad("stages is %v, the checkpoint's blocks give %v", hub.ModelArgs["stages"], c.Stages)
		}
	}
	if v, ok, err := num("q_pool"); err != nil {
		return err
	} else if ok && v != c.Unrolls() {
		return bad("q_pool is %d: anyres runs Hiera with a q-pooling at every stage boundary (%d), as every timm model", v, c.Unrolls())
	}
	if hub.HasArg("abs_win_pos_embed") {
		if v, ok := hub.ModelArgs["abs_win_pos_embed"].(bool); !ok || !v {
			return bad("abs_win_pos_embed is %v, but the checkpoint has pos_embed_win", hub.ModelArgs["abs_win_pos_embed"])
		}
	}
	if hub.HasArg("sep_pos_embed") {
		if v, ok := hub.ModelArgs["sep_pos_embed"].(bool); !ok || v {
			return bad("sep_pos_embed is %v (video tables are not supported)", hub.ModelArgs["sep_pos_embed"])
		}
	}
	if hub.HasArg("patch_padding") {
		// SizePair reads sizes from 1; a padding may be 0
		p, ok := nn.SizePair(addOne(hub.ModelArgs["patch_padding"]))
		if !ok {
			return bad("patch_padding is %v, want a size", hub.ModelArgs["patch_padding"])
		}
		c.PatchPad = [2]int{p[0] - 1, p[1] - 1}
	}
	if hub.HasArg("use_expand_proj") {
		if v, ok := hub.ModelArgs["use_expand_proj"].(bool); !ok || (len(c.Stages) > 1 && v != c.ExpandProj) {
			return bad("use_expand_proj is %v, the checkpoint's expand projections say %v", hub.ModelArgs["use_expand_proj"], c.ExpandProj)
		}
	}
	if hub.HasArg("mask_unit_attn") {
		l, ok := hub.ModelArgs["mask_unit_attn"].([]any)
		if !ok || len(l) != len(c.Stages) {
			return bad("mask_unit_attn is %v, want %d booleans", hub.ModelArgs["mask_unit_attn"], len(c.Stages))
		}
		for i, v := range l {
			b, ok := v.(bool)
			if !ok {
				return bad("mask_unit_attn is %v, want booleans", l)
			}
			c.MaskUnitAttn[i] = b
		}
	}
	for _, p := range []struct {
		key   string
		dst   *[2]int
		fixed bool
	}{{"q_stride", &c.QStride, false}, {"patch_stride", &c.PatchStride, false},
		{"patch_kernel", &c.PatchKernel, true}, {"mask_unit_size", &c.MaskUnit, true}, {"global_pos_size", &c.GlobalPos, true}} {
		if err := pair(p.key, p.dst, p.fixed); err != nil {
			return err
		}
	}
	return nil
}

func intsAny(v []int) []any {
	out := make([]any, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// addOne adds 1 to a JSON number or to each of a list of them.
func addOne(v any) any {
	switch x := v.(type) {
	case float64:
		return x + 1
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = addOne(e)
		}
		return out
	}
	return v
}
