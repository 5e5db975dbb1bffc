package vit

import (
	"fmt"

	"github.com/anyres/anyres/nn"
)

// RandomWeights makes weights of the right names and shapes for cfg, drawn
// uniformly from ±0.05 (norm weights 1): enough to time a model without a
// checkpoint.
func RandomWeights(cfg Config, seed uint64) MapSource {
	rw := nn.NewRandomWeights(seed, 0x5eed)
	d, src := cfg.EmbedDim, rw.Source
	put := rw.Put
	norm := func(p string) { put(p+".weight", 1, d); put(p+".bias", 0, d) }
	put("patch_embed.proj.weight", 0, d, cfg.Channels(), cfg.PatchSize[0], cfg.PatchSize[1])
	if !cfg.NoPatchBias {
		put("patch_embed.proj.bias", 0, d)
	}
	if cfg.ClassToken {
		put("cls_token", 0, 1, 1, d)
	}
	if cfg.DistToken {
		put("dist_token", 0, 1, 1, d)
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
		if cfg.LayerScale {
			put(p+"ls1.gamma", 1, d)
			put(p+"ls2.gamma", 1, d)
		}
	}
	if cfg.FinalNorm {
		norm("norm")
	}
	if cfg.FCNorm {
		norm("fc_norm")
	}
	if cfg.GlobalPool == "map" {
		put("attn_pool.latent", 0, 1, max(cfg.AttnPoolLatents, 1), d)
		for _, l := range []struct {
			name    string
			out, in int
		}{{"q", d, d}, {"kv", 2 * d, d}, {"proj", d, d}, {"mlp.fc1", cfg.MLPHidden, d}, {"mlp.fc2", d, cfg.MLPHidden}} {
			put("attn_pool."+l.name+".weight", 0, l.out, l.in)
			put("attn_pool."+l.name+".bias", 0, l.out)
		}
		norm("attn_pool.norm")
	}
	if cfg.NumClasses > 0 {
		put("head.weight", 0, cfg.NumClasses, d)
		put("head.bias", 0, cfg.NumClasses)
		if cfg.DistToken {
			put("head_dist.weight", 0, cfg.NumClasses, d)
			put("head_dist.bias", 0, cfg.NumClasses)
		}
	}
	return src
}
