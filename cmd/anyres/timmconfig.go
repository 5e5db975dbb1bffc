package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/vit"
)

// timmHubConfig is the config.json that timm models on the Hugging Face hub
// carry next to model.safetensors: an architecture name and the pretrained
// configuration, not the architecture's facts.
type timmHubConfig struct {
	Architecture string            `json:"architecture"`
	NumClasses   *int              `json:"num_classes"`
	GlobalPool   *string           `json:"global_pool"`
	ModelArgs    map[string]any    `json:"model_args"`
	LabelNames   json.RawMessage   `json:"label_names"`        // a list, or an object from class index to name
	LabelDescs   map[string]string `json:"label_descriptions"` // name → description (e.g. synset → "tench, Tinca tinca")
	Pretrained   struct {
		InputSize []int `json:"input_size"`
	} `json:"pretrained_cfg"`
}

// knownTensor matches every tensor name of the ViTs anyres runs; anything
// else (layer scale, q/k norms, attention pooling, …) means an architecture
// it would silently get wrong, so inference refuses it.
var knownTensor = regexp.MustCompile(`^(cls_token|reg_token|pos_embed|patch_embed\.proj\.(weight|bias)|` +
	`(norm_pre|norm|fc_norm)\.(weight|bias)|head\.(weight|bias)|` +
	`blocks\.\d+\.(norm1|norm2|attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)\.(weight|bias))$`)

// Heads of timm's ViT sizes, by the size word of the architecture name.
var timmHeads = map[string]int{"tiny": 3, "small": 6, "medium": 8, "base": 12, "large": 16, "huge": 16, "giant": 16, "gigantic": 16}

var timmName = regexp.MustCompile(`^vit_([a-z]+)_patch(\d+)(?:_[a-z0-9]+)*?_(\d+)(?:[._]|$)`)

// inferConfig builds the architecture of a timm ViT checkpoint that has no
// anyres `config` metadata: sizes from the tensors' shapes, the rest (head
// count, training size, pooling) from timm's hub config.json when hub is
// not nil, else from timm's defaults.
func inferConfig(f *tensorfile.File, hub *timmHubConfig) (vit.Config, error) {
	for _, n := range f.Names() {
		if !knownTensor.MatchString(n) {
			return vit.Config{}, fmt.Errorf("tensor %q is not part of the ViT architecture anyres runs (plain timm VisionTransformer); not a supported model", n)
		}
	}
	shape := func(name string) []int {
		s, err := f.Shape(name)
		if err != nil {
			return nil
		}
		return s
	}
	c := vit.Config{QKVBias: f.Has("blocks.0.attn.qkv.bias"), ClassToken: f.Has("cls_token"), PosEmbed: "learn",
		FCNorm: f.Has("fc_norm.weight"), FinalNorm: f.Has("norm.weight"), PreNorm: f.Has("norm_pre.weight"),
		NormEps: 1e-6, Act: "gelu_erf", InChans: 3}
	k := shape("patch_embed.proj.weight")
	if len(k) != 4 {
		return c, fmt.Errorf("patch_embed.proj.weight has shape %v, want out×in×h×w (is this a timm ViT?)", k)
	}
	c.EmbedDim, c.InChans, c.PatchSize = k[0], k[1], [2]int{k[2], k[3]}
	for f.Has("blocks." + strconv.Itoa(c.Depth) + ".attn.qkv.weight") {
		c.Depth++
	}
	if fc1 := shape("blocks.0.mlp.fc1.weight"); len(fc1) == 2 {
		c.MLPHidden = fc1[0]
	}
	if r := shape("reg_token"); len(r) == 3 {
		c.RegTokens = r[1]
	}
	if h := shape("head.weight"); len(h) == 2 {
		c.NumClasses = h[0]
	}
	var name string
	if hub != nil {
		name = hub.Architecture
	}
	m := timmName.FindStringSubmatch(name)
	if strings.Contains(name, "quickgelu") {
		return c, fmt.Errorf("architecture %s uses QuickGELU, which anyres does not run", name)
	}
	if strings.Contains(name, "clip") {
		c.NormEps = 1e-5 // timm builds its CLIP ViTs with nn.LayerNorm's default
	}
	// Heads: model_args, then the size in the name, then timm's usual
	// 64-wide heads. Shapes cannot tell (qkv is dim×3·dim whatever the heads).
	switch {
	case hub != nil && hub.ModelArgs["num_heads"] != nil:
		v, _ := hub.ModelArgs["num_heads"].(float64)
		c.NumHeads = int(v)
	case m != nil && timmHeads[m[1]] > 0:
		c.NumHeads = timmHeads[m[1]]
	case c.EmbedDim%64 == 0:
		c.NumHeads = c.EmbedDim / 64
		fmt.Fprintf(os.Stderr, "note: assuming %d attention heads of 64 (timm's usual); give -config with timm's config.json to be sure\n", c.NumHeads)
	default:
		return c, fmt.Errorf("cannot tell the number of attention heads of a %d-wide model; give -config (timm's config.json or anyres's)", c.EmbedDim)
	}
	// Training size: pretrained_cfg input_size, model_args img_size, the
	// name's suffix, or a square grid from the table.
	rows := 0
	if p := shape("pos_embed"); len(p) == 3 {
		rows = p[1]
	} else {
		c.PosEmbed = "none"
	}
	switch {
	case hub != nil && len(hub.Pretrained.InputSize) == 3:
		c.ImgSize = [2]int{hub.Pretrained.InputSize[1], hub.Pretrained.InputSize[2]}
	case hub != nil && hub.ModelArgs["img_size"] != nil:
		if s, ok := pair(hub.ModelArgs["img_size"]); ok {
			c.ImgSize = s
		}
	case m != nil:
		s, _ := strconv.Atoi(m[3])
		c.ImgSize = [2]int{s, s}
	}
	prefix := c.RegTokens
	if c.ClassToken {
		prefix++
	}
	if c.ImgSize == ([2]int{}) && rows > 0 {
		for _, p := range []int{prefix, 0} {
			if s := int(math.Round(math.Sqrt(float64(rows - p)))); rows > p && s*s == rows-p {
				c.ImgSize = [2]int{s * c.PatchSize[0], s * c.PatchSize[1]}
				break
			}
		}
	}
	if c.PosEmbed == "learn" {
		g := (c.ImgSize[0] / c.PatchSize[0]) * (c.ImgSize[1] / c.PatchSize[1])
		switch rows {
		case g + prefix:
		case g:
			c.NoEmbedClass = prefix > 0
		default:
			return c, fmt.Errorf("pos_embed has %d rows; img_size %v at patch %v with %d prefix tokens needs %d (or %d without them)",
				rows, c.ImgSize, c.PatchSize, prefix, g+prefix, g)
		}
	} else if c.ImgSize == ([2]int{}) {
		c.ImgSize = [2]int{224, 224} // unused without a table
	}
	// Pooling: as configured, else timm's default (class token if there is
	// one, with fc_norm meaning average pooling).
	switch {
	case hub != nil && hub.GlobalPool != nil:
		c.GlobalPool = *hub.GlobalPool
	case c.ClassToken && !c.FCNorm:
		c.GlobalPool = "token"
	default:
		c.GlobalPool = "avg"
	}
	if err := c.Validate(); err != nil {
		return c, fmt.Errorf("inferred config: %w", err)
	}
	return c, nil
}

// parseTimmHub reads a timm hub config.json; ok is false when the JSON is
// not one (it names no architecture).
func parseTimmHub(data []byte) (hub *timmHubConfig, ok bool) {
	var h timmHubConfig
	if json.Unmarshal(data, &h) != nil || h.Architecture == "" {
		return nil, false
	}
	return &h, true
}

// labels returns the class names of a hub config (descriptions where it
// has them, as they read better than ImageNet synset ids), n of them, or
// nil when it has none.
func (h *timmHubConfig) labels(n int) []string {
	if h == nil || len(h.LabelNames) == 0 || n <= 0 {
		return nil
	}
	out := make([]string, n)
	var list []string
	var byIndex map[string]string
	if json.Unmarshal(h.LabelNames, &list) == nil {
		copy(out, list)
	} else if json.Unmarshal(h.LabelNames, &byIndex) == nil {
		for k, v := range byIndex {
			if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < n {
				out[i] = v
			}
		}
	} else {
		return nil
	}
	for i, name := range out {
		if d, ok := h.LabelDescs[name]; ok && d != "" {
			out[i] = d
		}
	}
	return out
}
