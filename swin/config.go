package swin

import (
	"encoding/json"
	"fmt"
)

// Config is a Swin Transformer architecture (v1 or V2), as the `config`
// metadata of an anyres file spells it (timm's defaults resolved).
type Config struct {
	// Version is 1 (timm SwinTransformer; 0 means 1) or 2
	// (SwinTransformerV2).
	Version    int     `json:"version,omitempty"`
	PatchSize  [2]int  `json:"patch_size"`
	InChans    int     `json:"in_chans"` // 0 means 3
	EmbedDim   int     `json:"embed_dim"`
	Depths     []int   `json:"depths"`
	NumHeads   []int   `json:"num_heads"`
	WindowSize [2]int  `json:"window_size"`
	MLPRatio   float64 `json:"mlp_ratio"`
	NormEps    float64 `json:"norm_eps"`
	NumClasses int     `json:"num_classes"`
	GlobalPool string  `json:"global_pool"`
	// ImgSize is the size timm built the model for (0: 224×224, timm's
	// default). timm fixes each stage's window and shift from it, not from
	// the input: see StageWindow.
	ImgSize [2]int `json:"img_size"`
	// PretrainedWindowSizes (V2 only) is, per stage, the window whose
	// offsets the continuous position bias was trained on (timm's
	// pretrained_window_sizes): offsets are normalised by it, so a larger
	// window extrapolates. 0 (or none) normalises by the stage's own window.
	PretrainedWindowSizes []int `json:"pretrained_window_sizes,omitempty"`
	// PadThenShift rolls the grid after padding it to whole windows
	// (transformers' Swin and Swinv2) rather than before (timm): the
	// padding rows then sit inside the rolled grid, not at its end.
	PadThenShift bool `json:"pad_then_shift,omitempty"`
	// ShiftPerInput decides the shift per input, as transformers' Swin v1
	// does: a stage whose grid's shorter side is no longer than the window
	// runs unshifted; the window stays WindowSize (StageWindow does not
	// shrink it from ImgSize).
	ShiftPerInput bool `json:"shift_per_input,omitempty"`
	// PatchNormEps, when not zero, is the epsilon of the patch embedding's
	// and the patch mergings' norms (transformers' plain nn.LayerNorm:
	// 1e-5 whatever layer_norm_eps says); zero means NormEps.
	PatchNormEps float64 `json:"patch_norm_eps,omitempty"`
}

// ParseConfig decodes a `config` metadata string and checks it.
func ParseConfig(raw []byte) (Config, error) {
	var c Config
	if err := json.Unmarshal(raw, &c); err != nil {
		return c, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return c, c.Validate()
}

// JSON is the config as an anyres file's `config` metadata (with
// "family": "swin", which the front door recognises).
func (c Config) JSON() ([]byte, error) {
	return json.Marshal(struct {
		Family string `json:"family"`
		Config
	}{"swin", c})
}

// V2 reports whether the config is a Swin V2.
func (c *Config) V2() bool { return c.Version == 2 }

// Validate fills timm's defaults and reports whether the config describes
// a model this package runs.
func (c *Config) Validate() error {
	if c.InChans == 0 {
		c.InChans = 3
	}
	if c.ImgSize == [2]int{} {
		c.ImgSize = [2]int{224, 224}
	}
	if c.MLPRatio == 0 {
		c.MLPRatio = 4
	}
	if c.Version == 0 {
		c.Version = 1
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...)
	}
	switch {
	case c.Version != 1 && c.Version != 2:
		return bad("version %d: want 1 or 2", c.Version)
	case c.PatchSize[0] <= 0 || c.PatchSize[1] <= 0 || c.PatchSize[0] > 64 || c.PatchSize[1] > 64:
		return bad("patch size %v: sides must be in 1..64", c.PatchSize)
	case c.InChans < 0 || c.InChans > 64:
		return bad("%d input channels: must be in 1..64", c.InChans)
	case c.EmbedDim <= 0 || c.EmbedDim > 1<<14:
		return bad("embed_dim %d: must be in 1..16384", c.EmbedDim)
	case len(c.Depths) == 0 || len(c.Depths) > 8 || len(c.NumHeads) != len(c.Depths):
		return bad("depths %v and num_heads %v: want 1..8 stages, one head count each", c.Depths, c.NumHeads)
	case c.WindowSize[0] <= 0 || c.WindowSize[1] <= 0 || c.WindowSize[0] > 64 || c.WindowSize[1] > 64:
		return bad("window size %v: sides must be in 1..64", c.WindowSize)
	case c.ImgSize[0] < c.PatchSize[0] || c.ImgSize[1] < c.PatchSize[1] || c.ImgSize[0] > 1<<16 || c.ImgSize[1] > 1<<16:
		return bad("img_size %v: sides must be in patch size..65536", c.ImgSize)
	case c.MLPRatio <= 0 || c.MLPRatio > 64:
		return bad("mlp_ratio %g: must be in (0, 64]", c.MLPRatio)
	case c.NormEps <= 0:
		return bad("norm_eps %g: must be positive", c.NormEps)
	case c.PatchNormEps < 0:
		return bad("patch_norm_eps %g: must be positive (or 0: norm_eps)", c.PatchNormEps)
	case c.NumClasses < 0 || c.NumClasses > 1<<20:
		return bad("num_classes %d: must be in 0..%d", c.NumClasses, 1<<20)
	case c.GlobalPool != "avg" && c.GlobalPool != "":
		return bad("global_pool %q: want \"avg\" or \"\"", c.GlobalPool)
	case c.GlobalPool == "" && c.NumClasses > 0:
		return bad("%d classes without pooling (global_pool \"\"): per-position logits are not supported", c.NumClasses)
	case c.Version == 1 && len(c.PretrainedWindowSizes) > 0:
		return bad("pretrained_window_sizes is a Swin V2 setting")
	case len(c.PretrainedWindowSizes) > 0 && len(c.PretrainedWindowSizes) != len(c.Depths):
		return bad("pretrained_window_sizes %v: want one per stage (%d)", c.PretrainedWindowSizes, len(c.Depths))
	}
	if c.EmbedDim<<(len(c.Depths)-1) > 1<<14 {
		return bad("embed_dim %d over %d stages: the last stage is too wide", c.EmbedDim, len(c.Depths))
	}
	for i, d := range c.Depths {
		h := c.NumHeads[i]
		if d < 0 || d > 64 {
			return bad("stage %d depth %d: must be in 0..64", i, d)
		}
		if h <= 0 || c.StageDim(i)%h != 0 {
			return bad("stage %d: %d heads do not divide its width %d", i, h, c.StageDim(i))
		}
		if c.MLPHidden(i) <= 0 {
			return bad("stage %d: mlp_ratio %g leaves no hidden units", i, c.MLPRatio)
		}
	}
	for i, p := range c.PretrainedWindowSizes {
		if p != 0 && (p < 2 || p > 64) {
			return bad("stage %d pretrained window %d: must be 0 or in 2..64", i, p)
		}
	}
	return nil
}

// StageDim is the token width of stage i: embed_dim·2^i.
func (c *Config) StageDim(i int) int { return c.EmbedDim << i }

// MLPHidden is the hidden width of stage i's MLP: int(dim·mlp_ratio).
func (c *Config) MLPHidden(i int) int { return int(float64(c.StageDim(i)) * c.MLPRatio) }

// NumFeatures is the width of the last stage (of the features and pooled vector).
func (c *Config) NumFeatures() int { return c.StageDim(len(c.Depths) - 1) }

// StageWindow is the window and the shift of the odd blocks of stage i, as
// timm's _calc_window_shift sets them when the model is built (v1 and V2
// alike, always_partition off): on an axis where the stage's grid at
// ImgSize (the patch grid floor-divided by 2^i) is no larger than the
// window, the window shrinks to the grid and the shift is 0. With the
// default 224² and window 7 this is what makes the last stage of
// swin_tiny (7×7) unshifted. The input size plays no part: a larger input
// is cut into more windows, a smaller one padded to one.
//
// With ShiftPerInput the window is WindowSize at every stage and the shift
// half of it; blocks drop the shift per input (segment.shift).
func (c *Config) StageWindow(i int) (window, shift [2]int) {
	if c.ShiftPerInput {
		return c.WindowSize, [2]int{c.WindowSize[0] / 2, c.WindowSize[1] / 2}
	}
	for a := range 2 {
		r := c.ImgSize[a] / c.PatchSize[a] >> i
		w := c.WindowSize[a]
		window[a], shift[a] = w, w/2
		if r <= w {
			window[a], shift[a] = max(r, 1), 0
		}
	}
	return window, shift
}

// patchEps is the epsilon of the patch embedding's and mergings' norms.
func (c *Config) patchEps() float64 {
	if c.PatchNormEps > 0 {
		return c.PatchNormEps
	}
	return c.NormEps
}

// PretrainedWindow is the window stage i's continuous position bias
// normalises its offsets by (V2); zero means the stage's own window.
func (c *Config) PretrainedWindow(i int) [2]int {
	if i < len(c.PretrainedWindowSizes) {
		if p := c.PretrainedWindowSizes[i]; p > 0 {
			return [2]int{p, p}
		}
	}
	return [2]int{}
}
