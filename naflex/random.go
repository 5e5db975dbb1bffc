package naflex

import (
	"fmt"

	"github.com/anyres/anyres/nn"
)

// RandomWeights makes weights of the right names and shapes for cfg, drawn
// uniformly from ±0.05 (norm weights 1): enough to time a model without a
// checkpoint.
func RandomWeights(cfg Config, seed uint64) nn.MapSource {
	rw := nn.NewRandomWeights(seed, 0xf1e5)
	d, h, src := cfg.EmbedDim, cfg.MLPHidden, rw.Source
	put := rw.Put
	norm := func(p string) { put(p+".weight", 1, d); put(p+".bias", 0, d) }
	lin := func(p string, out, in int, bias bool) {
		put(p+".weight", 0, out, in)
		if bias {
			put(p+".bias", 0, out)
		}
	}
	if cfg.ConvEmbed {
		put("embeds.proj.weight", 0, d, cfg.InChans, cfg.PatchSize[0], cfg.PatchSize[1])
		if !cfg.PreNorm {
			put("embeds.proj.bias", 0, d)
		}
	} else {
		lin("embeds.proj", d, cfg.PatchSize[0]*cfg.PatchSize[1]*cfg.InChans, !cfg.PreNorm)
	}
	if cfg.ClassToken {
		put("embeds.cls_token", 0, 1, 1, d)
	}
	if cfg.RegTokens > 0 {
		put("embeds.reg_token", 0, 1, cfg.RegTokens, d)
	}
	if cfg.PosGrid != [2]int{} {
		put("embeds.pos_embed", 0, 1, cfg.PosGrid[0], cfg.PosGrid[1], d)
	}
	if cfg.PreNorm {
		norm("norm_pre")
	}
	for i := 0; i < cfg.Depth; i++ {
		p := fmt.Sprintf("blocks.%d.", i)
		norm(p + "norm1")
		lin(p+"attn.qkv", 3*d, d, cfg.QKVBias)
		lin(p+"attn.proj", d, d, true)
		norm(p + "norm2")
		lin(p+"mlp.fc1", h, d, true)
		lin(p+"mlp.fc2", d, h, true)
		if cfg.LayerScale {
			put(p+"ls1.gamma", 1, d)
			put(p+"ls2.gamma", 1, d)
		}
	}
	if cfg.FinalNorm {
		norm("norm")
	}
	if cfg.GlobalPool == "map" {
		put("attn_pool.latent", 0, 1, 1, d)
		lin("attn_pool.q", d, d, true)
		lin("attn_pool.kv", 2*d, d, true)
		lin("attn_pool.proj", d, d, true)
		norm("attn_pool.norm")
		lin("attn_pool.mlp.fc1", cfg.PoolHidden, d, true)
		lin("attn_pool.mlp.fc2", d, cfg.PoolHidden, true)
	}
	if cfg.FCNorm {
		norm("fc_norm")
	}
	if cfg.NumClasses > 0 {
		lin("head", cfg.NumClasses, d, true)
	}
	return src
}
