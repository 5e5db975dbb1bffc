package sam

import (
	"fmt"

	"github.com/anyres/anyres/nn"
)

// RandomWeights makes weights of the right names and shapes for cfg, drawn
// uniformly from ±0.05 (norm weights 1): enough to time a model without a
// checkpoint.
func RandomWeights(cfg Config, seed uint64) nn.MapSource {
	rw := nn.NewRandomWeights(seed, 0x5a3)
	src := rw.Source
	put := rw.Put
	norm := func(p string, d int) { put(p+".weight", 1, d); put(p+".bias", 0, d) }
	lin := func(p string, out, in int) { put(p+".weight", 0, out, in); put(p+".bias", 0, out) }
	d, hd, p := cfg.Dim, cfg.HeadDim(), cfg.Patch
	put("patch_embed.proj.weight", 0, d, cfg.InChans, p, p)
	put("patch_embed.proj.bias", 0, d)
	if cfg.PosGrid != ([2]int{}) {
		put("pos_embed", 0, 1, cfg.PosGrid[0], cfg.PosGrid[1], d)
	}
	for b := 0; b < cfg.Depth; b++ {
		bp := fmt.Sprintf("blocks.%d.", b)
		norm(bp+"norm1", d)
		lin(bp+"attn.qkv", 3*d, d)
		lin(bp+"attn.proj", d, d)
		if cfg.RelPos {
			rh, rw := 2*cfg.Window-1, 2*cfg.Window-1
			if cfg.IsGlobal(b) {
				rh, rw = 2*max(1, cfg.PosGrid[0])-1, 2*max(1, cfg.PosGrid[1])-1
			}
			put(bp+"attn.rel_pos_h", 0, rh, hd)
			put(bp+"attn.rel_pos_w", 0, rw, hd)
		}
		norm(bp+"norm2", d)
		lin(bp+"mlp.fc1", cfg.MLPHidden, d)
		lin(bp+"mlp.fc2", d, cfg.MLPHidden)
	}
	if nc := cfg.NeckChans; nc > 0 {
		put("neck.0.weight", 0, nc, d, 1, 1)
		norm("neck.1", nc)
		put("neck.2.weight", 0, nc, nc, 3, 3)
		norm("neck.3", nc)
	}
	if cfg.NumClasses > 0 {
		lin("head.fc", cfg.NumClasses, cfg.OutDim())
	}
	return src
}
