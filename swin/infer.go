package swin

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/anyres/anyres/nn"
)

// timmName picks the window and training size out of a timm Swin name:
// swin_tiny_patch4_window7_224, swinv2_tiny_window8_256,
// swinv2_base_window12to16_192to256 (pretrained at window 12 and 192²,
// fine-tuned at window 16 and 256²), with an optional .tag.
var timmName = regexp.MustCompile(`window(\d+)(?:to(\d+))?_(\d+)(?:to(\d+))?(?:[._]|$)`)

// InferConfig builds the architecture of a timm Swin checkpoint (v1 or V2)
// from its tensor shapes and timm's hub config.json (nil when there is
// none). The shapes give the widths, depths, heads (the bias tables', or
// V2's logit scales), MLP ratio and classes, and which version it is (V2
// has cpb_mlp); the window and training size come from model_args, else
// the name, else (v1) the bias table's size and timm's default 224².
func InferConfig(ck nn.Checkpoint, hub *nn.HubConfig) (Config, error) {
	shape := func(name string) []int { return nn.ShapeOf(ck, name) }
	c := Config{Version: 1, NormEps: 1e-5, GlobalPool: "avg"}
	if ck.Has("layers.0.blocks.0.attn.cpb_mlp.0.weight") || ck.Has("layers.0.blocks.0.attn.logit_scale") {
		c.Version = 2
	}
	k := shape("patch_embed.proj.weight")
	if len(k) != 4 || k[0] <= 0 || k[1] <= 0 || k[2] <= 0 || k[3] <= 0 {
		return c, fmt.Errorf("%w: patch_embed.proj.weight has shape %v, want out×in×h×w, all positive (is this a timm Swin?)", ErrConfig, k)
	}
	c.EmbedDim, c.InChans, c.PatchSize = k[0], k[1], [2]int{k[2], k[3]}
	stage := func(i int) string { return "layers." + strconv.Itoa(i) + "." }
	for i := 0; ck.Has(stage(i)+"blocks.0.norm1.weight") || ck.Has(stage(i)+"downsample.reduction.weight"); i++ {
		depth := 0
		for ck.Has(stage(i) + "blocks." + strconv.Itoa(depth) + ".norm1.weight") {
			depth++
		}
		c.Depths = append(c.Depths, depth)
		heads := 0
		if c.V2() {
			if s := shape(stage(i) + "blocks.0.attn.logit_scale"); len(s) == 3 {
				heads = s[0]
			}
		} else if s := shape(stage(i) + "blocks.0.attn.relative_position_bias_table"); len(s) == 2 {
			heads = s[1]
		}
		c.NumHeads = append(c.NumHeads, heads)
	}
	if len(c.Depths) == 0 {
		return c, fmt.Errorf("%w: no layers.0.blocks.0 tensors (is this a timm Swin?)", ErrConfig)
	}
	if fc1 := shape("layers.0.blocks.0.mlp.fc1.weight"); len(fc1) == 2 {
		c.MLPRatio = float64(fc1[0]) / float64(c.EmbedDim)
	}
	if h := shape("head.fc.weight"); len(h) == 2 {
		c.NumClasses = h[0]
	}
	var name string
	if hub != nil {
		name = hub.Architecture
		if hub.GlobalPool != nil {
			c.GlobalPool = *hub.GlobalPool
		}
	}
	// The name and the tensors must tell the same version: V1 weights run
	// with a V2 name's window rules (or the other way) would be wrong
	// without a word.
	if v2Name := strings.HasPrefix(name, "swinv2"); name != "" && v2Name != c.V2() {
		return c, fmt.Errorf("%w: architecture %q, but the weights are Swin V%d's (cpb_mlp and logit_scale tensors: %v)", ErrConfig, name, c.Version, c.V2())
	}
	// Window and training size: model_args, then the name.
	var nameWin, nameImg, preWin, preImg int
	if m := timmName.FindStringSubmatch(name); m != nil {
		nameWin, _ = strconv.Atoi(m[1])
		nameImg, _ = strconv.Atoi(m[3])
		if m[2] != "" {
			preWin, nameWin = nameWin, atoi(m[2])
		}
		if m[4] != "" {
			preImg, nameImg = nameImg, atoi(m[4])
		}
	}
	var args map[string]any
	if hub != nil {
		args = hub.ModelArgs
	}
	if s, ok := nn.SizePair(args["window_size"]); ok {
		c.WindowSize = s
	} else if nameWin > 0 {
		c.WindowSize = [2]int{nameWin, nameWin}
	}
	if s, ok := nn.SizePair(args["img_size"]); ok {
		c.ImgSize = s
	} else if nameImg > 0 {
		c.ImgSize = [2]int{nameImg, nameImg}
	} else if in := hubInput(hub); in != ([2]int{}) {
		c.ImgSize = in
	}
	if c.WindowSize == ([2]int{}) {
		if c.V2() {
			return c, fmt.Errorf("%w: a Swin V2 checkpoint's window is not in its tensors; give a config.json with its timm name or model_args.window_size", ErrConfig)
		}
		// v1: the first stage's bias table has (2w-1)² rows.
		s := shape("layers.0.blocks.0.attn.relative_position_bias_table")
		if len(s) != 2 {
			return c, fmt.Errorf("%w: no relative_position_bias_table to tell the window from", ErrConfig)
		}
		side := int(math.Round(math.Sqrt(float64(s[0]))))
		if side*side != s[0] || side%2 == 0 {
			return c, fmt.Errorf("%w: a bias table of %d rows is not a square window's; give model_args.window_size", ErrConfig, s[0])
		}
		c.WindowSize = [2]int{(side + 1) / 2, (side + 1) / 2}
	}
	if c.V2() {
		if v, ok := args["pretrained_window_sizes"].([]any); ok {
			for _, x := range v {
				f, _ := x.(float64)
				c.PretrainedWindowSizes = append(c.PretrainedWindowSizes, int(f))
			}
		} else if preWin > 0 {
			// timm's windowAtoB_XtoY models were trained at window A on X²
			// images, where a stage whose grid is smaller than A had its
			// window shrunk to the grid: e.g. (12, 12, 12, 6) at 192².
			if preImg == 0 {
				preImg = c.ImgSize[0]
			}
			for i := range c.Depths {
				c.PretrainedWindowSizes = append(c.PretrainedWindowSizes, min(preWin, preImg/c.PatchSize[0]>>i))
			}
		}
	}
	// Head counts come from the bias tables; model_args.num_heads, when
	// given, must say the same rather than be ignored.
	if hub.HasArg("num_heads") {
		h, _, err := hub.Ints("num_heads", len(c.Depths))
		if err != nil {
			return c, err
		}
		if !slices.Equal(h, c.NumHeads) {
			return c, fmt.Errorf("%w: model_args.num_heads %v contradicts the weights' %v", ErrConfig, h, c.NumHeads)
		}
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("inferred config: %w", err)
	}
	return c, nil
}

func atoi(s string) int { v, _ := strconv.Atoi(s); return v }

// hubInput is the hub config's pretrained input size, if any.
func hubInput(hub *nn.HubConfig) [2]int {
	if hub != nil {
		if in := hub.Pretrained.InputSize; len(in) == 3 && in[1] > 0 && in[2] > 0 {
			return [2]int{in[1], in[2]}
		}
	}
	return [2]int{}
}
