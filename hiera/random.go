package hiera

import (
	"fmt"

	"github.com/anyres/anyres/nn"
)

// SmallAbsWin256 is timm's hiera_small_abswin_256 (ImageNet-1k head).
func SmallAbsWin256() Config {
	return Config{InChans: 3, EmbedDim: 96, Heads: 1, Stages: []int{1, 2, 11, 2}, QStride: [2]int{2, 2},
		MaskUnit: [2]int{8, 8}, MaskUnitAttn: []bool{true, true, false, false}, DimMul: 2, HeadMul: 2,
		PatchKernel: [2]int{7, 7}, PatchStride: [2]int{4, 4}, PatchPad: [2]int{3, 3}, MLPHidden: []int{384, 768, 1536, 3072},
		GlobalPos: [2]int{16, 16}, LayerScale: true, NumClasses: 1000}
}

// RandomWeights makes weights of the right names and shapes for cfg, drawn
// uniformly from ±0.05 (norm weights 1): enough to time a model without a
// checkpoint.
func RandomWeights(cfg Config, seed uint64) nn.MapSource {
	rw := nn.NewRandomWeights(seed, 0x41e7a)
	src := rw.Source
	put := rw.Put
	norm := func(p string, d int) { put(p+".weight", 1, d); put(p+".bias", 0, d) }
	lin := func(p string, out, in int) { put(p+".weight", 0, out, in); put(p+".bias", 0, out) }
	d := cfg.EmbedDim
	put("patch_embed.proj.weight", 0, d, cfg.InChans, cfg.PatchKernel[0], cfg.PatchKernel[1])
	put("patch_embed.proj.bias", 0, d)
	put("pos_embed", 0, 1, d, cfg.GlobalPos[0], cfg.GlobalPos[1])
	put("pos_embed_win", 0, 1, d, cfg.MaskUnit[0], cfg.MaskUnit[1])
	i := 0
	for s, n := range cfg.Stages {
		for j := 0; j < n; j++ {
			p := fmt.Sprintf("blocks.%d.", i)
			out := d
			if s > 0 && j == 0 {
				out = d * cfg.DimMul
				if cfg.ExpandProj {
					lin(p+"proj", out, d)
				}
			}
			norm(p+"norm1", d)
			lin(p+"attn.qkv", 3*out, d)
			lin(p+"attn.proj", out, out)
			norm(p+"norm2", out)
			lin(p+"mlp.fc1", cfg.MLPHidden[s], out)
			lin(p+"mlp.fc2", out, cfg.MLPHidden[s])
			if cfg.LayerScale {
				put(p+"ls1.gamma", 0, out)
				put(p+"ls2.gamma", 0, out)
			}
			d = out
			i++
		}
	}
	norm("head.norm", d)
	if cfg.NumClasses > 0 {
		lin("head.fc", cfg.NumClasses, d)
	}
	return src
}
