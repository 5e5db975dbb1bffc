package swin

import (
	"fmt"
	"math"

	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// RandomWeights makes weights of the right names and shapes for cfg (v1 or
// V2), drawn uniformly from ±0.05 (norm weights 1, V2 logit scales ln 10 as
// timm initialises them): enough to time a model without a checkpoint.
func RandomWeights(cfg Config, seed uint64) (nn.MapSource, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rw := nn.NewRandomWeights(seed, 0x5eed)
	src := rw.Source
	put := rw.Put
	norm := func(p string, d int) { put(p+".weight", 1, d); put(p+".bias", 0, d) }
	d0, p := cfg.EmbedDim, cfg.PatchSize
	put("patch_embed.proj.weight", 0, d0, cfg.InChans, p[0], p[1])
	put("patch_embed.proj.bias", 0, d0)
	norm("patch_embed.norm", d0)
	for si, depth := range cfg.Depths {
		d, h, hidden := cfg.StageDim(si), cfg.NumHeads[si], cfg.MLPHidden(si)
		win, _ := cfg.StageWindow(si)
		if si > 0 {
			pre := fmt.Sprintf("layers.%d.downsample.", si)
			in := 4 * cfg.StageDim(si-1)
			put(pre+"reduction.weight", 0, d, in)
			if cfg.V2() {
				norm(pre+"norm", d)
			} else {
				norm(pre+"norm", in)
			}
		}
		for bi := range depth {
			pre := fmt.Sprintf("layers.%d.blocks.%d.", si, bi)
			norm(pre+"norm1", d)
			norm(pre+"norm2", d)
			put(pre+"attn.qkv.weight", 0, 3*d, d)
			if cfg.V2() {
				put(pre+"attn.q_bias", 0, d)
				put(pre+"attn.v_bias", 0, d)
				put(pre+"attn.logit_scale", float32(math.Log(10)), h, 1, 1)
				put(pre+"attn.cpb_mlp.0.weight", 0, cpbHidden, 2)
				put(pre+"attn.cpb_mlp.0.bias", 0, cpbHidden)
				put(pre+"attn.cpb_mlp.2.weight", 0, h, cpbHidden)
			} else {
				put(pre+"attn.qkv.bias", 0, 3*d)
				put(pre+"attn.relative_position_bias_table", 0, posenc.RelPosTableRows(posenc.Grid{H: win[0], W: win[1]}, false), h)
			}
			put(pre+"attn.proj.weight", 0, d, d)
			put(pre+"attn.proj.bias", 0, d)
			put(pre+"mlp.fc1.weight", 0, hidden, d)
			put(pre+"mlp.fc1.bias", 0, hidden)
			put(pre+"mlp.fc2.weight", 0, d, hidden)
			put(pre+"mlp.fc2.bias", 0, d)
		}
	}
	nf := cfg.NumFeatures()
	norm("norm", nf)
	if cfg.NumClasses > 0 {
		put("head.fc.weight", 0, cfg.NumClasses, nf)
		put("head.fc.bias", 0, cfg.NumClasses)
	}
	return src, nil
}
