package twins

import (
	"fmt"

	"github.com/anyres/anyres/nn"
)

// RandomWeights makes weights of the right names and shapes for cfg, drawn
// uniformly from ±0.05 (norm weights 1): enough to time a model without a
// checkpoint.
func RandomWeights(cfg Config, seed uint64) nn.MapSource {
	rw := nn.NewRandomWeights(seed, 0x7e1a5)
	src := rw.Source
	put := rw.Put
	norm := func(p string, d int) { put(p+".weight", 1, d); put(p+".bias", 0, d) }
	lin := func(p string, out, in int) { put(p+".weight", 0, out, in); put(p+".bias", 0, out) }
	prev := cfg.InChans
	for s, d := range cfg.Dims {
		p, sr, h := cfg.Patch[s], cfg.SR[s], cfg.MLPHidden[s]
		put(fmt.Sprintf("patch_embeds.%d.proj.weight", s), 0, d, prev, p, p)
		put(fmt.Sprintf("patch_embeds.%d.proj.bias", s), 0, d)
		norm(fmt.Sprintf("patch_embeds.%d.norm", s), d)
		for j := 0; j < cfg.Depths[s]; j++ {
			b := fmt.Sprintf("blocks.%d.%d.", s, j)
			norm(b+"norm1", d)
			local := cfg.Local(s, j)
			if local {
				lin(b+"attn.qkv", 3*d, d)
			} else {
				lin(b+"attn.q", d, d)
				lin(b+"attn.kv", 2*d, d)
			}
			lin(b+"attn.proj", d, d)
			if sr > 1 && !local {
				put(b+"attn.sr.weight", 0, d, d, sr, sr)
				put(b+"attn.sr.bias", 0, d)
				norm(b+"attn.norm", d)
			}
			norm(b+"norm2", d)
			lin(b+"mlp.fc1", h, d)
			lin(b+"mlp.fc2", d, h)
		}
		put(fmt.Sprintf("pos_block.%d.proj.0.weight", s), 0, d, 1, 3, 3)
		put(fmt.Sprintf("pos_block.%d.proj.0.bias", s), 0, d)
		prev = d
	}
	norm("norm", prev)
	if cfg.NumClasses > 0 {
		lin("head", cfg.NumClasses, prev)
	}
	return src
}
