package vit

import (
	"fmt"
	"math/rand/v2"
)

// RandomWeights makes weights of the right names and shapes for cfg, drawn
// uniformly from ±0.05 (norm weights 1): enough to time a model without a
// checkpoint.
func RandomWeights(cfg Config, seed uint64) MapSource {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	d, src := cfg.EmbedDim, MapSource{}
	put := func(name string, fill float32, shape ...int) {
		v := make([]float32, product(shape))
		for i := range v {
			if fill != 0 {
				v[i] = fill
			} else {
				v[i] = (r.Float32() - 0.5) / 10
			}
		}
		src[name] = Tensor{v, shape}
	}
	norm := func(p string) { put(p+".weight", 1, d); put(p+".bias", 0, d) }
	put("patch_embed.proj.weight", 0, d, cfg.Channels(), cfg.PatchSize[0], cfg.PatchSize[1])
	put("patch_embed.proj.bias", 0, d)
	if cfg.ClassToken {
		put("cls_token", 0, 1, 1, d)
	}
	if cfg.RegTokens > 0 {
		put("reg_token", 0, 1, cfg.RegTokens, d)
	}
	if cfg.PosEmbed == "learn" {
		put("pos_embed", 0, 1, cfg.posTableRows(), d)
	}
	if cfg.PreNorm {
		norm("norm_pre")
	}
	for i := 0; i < cfg.Depth; i++ {
		p := fmt.Sprintf("blocks.%d.", i)
		norm(p + "norm1")
		put(p+"attn.qkv.weight", 0, 3*d, d)
		if cfg.QKVBias {
			put(p+"attn.qkv.bias", 0, 3*d)
		}
		put(p+"attn.proj.weight", 0, d, d)
		put(p+"attn.proj.bias", 0, d)
		norm(p + "norm2")
		put(p+"mlp.fc1.weight", 0, cfg.MLPHidden, d)
		put(p+"mlp.fc1.bias", 0, cfg.MLPHidden)
		put(p+"mlp.fc2.weight", 0, d, cfg.MLPHidden)
		put(p+"mlp.fc2.bias", 0, d)
	}
	if cfg.FinalNorm {
		norm("norm")
	}
	if cfg.FCNorm {
		norm("fc_norm")
	}
	if cfg.NumClasses > 0 {
		put("head.weight", 0, cfg.NumClasses, d)
		put("head.bias", 0, cfg.NumClasses)
	}
	return src
}

// FLOPs counts the floating-point operations (2 per multiply-add) of one
// forward pass over images with the given patch grids packed together:
// patch embedding, every block's GEMMs and attention, and the head.
func (m *Model) FLOPs(grids ...[2]int) float64 {
	c := m.cfg
	d, mlp := float64(c.EmbedDim), float64(c.MLPHidden)
	k := float64(c.Channels() * m.patch[0] * m.patch[1])
	var f float64
	for _, g := range grids {
		p := float64(g[0] * g[1])
		t := p + float64(c.Prefix())
		f += 2 * p * k * d
		f += float64(c.Depth) * (2*t*d*(3*d+d+2*mlp) + 4*t*t*d)
		f += 2 * d * float64(c.NumClasses)
	}
	return f
}
