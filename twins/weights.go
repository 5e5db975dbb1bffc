package twins

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
)

// stage is one level of the pyramid.
type stage struct {
	dim, heads, patch, sr int
	ws                    int  // window side of local attention
	local, global         bool // whether some block runs local / global attention
	// embed is the strided patch convolution: on the image (stage 0) a
	// [C, p, p] kernel over nn.Im2Col patches; on a previous stage's
	// channels-last grid a [p, p, C] kernel over hwcPatches.
	embed     *kernels.PackedB
	embedB    []float32
	embedNorm nn.LayerNorm
	blocks    []block
	pegW      []float32 // 9×dim, tap-major (kernels.DWConv3x3)
	pegB      []float32
}

// block is one pre-norm block: global attention with spatially reduced
// keys and values (GlobalSubSampleAttn), or, where local, attention within
// ws×ws windows (LocallyGroupedAttn, fused qkv).
type block struct {
	norm1  nn.LayerNorm
	local  bool
	q, kv  nn.Linear
	qkv    nn.Linear // local only
	proj   nn.Linear
	srConv *kernels.PackedB // [sr, sr, C] → C; nil when sr is 1
	srB    []float32
	srNorm nn.LayerNorm
	norm2  nn.LayerNorm
	mlp    nn.MLP
}

// layers reads every tensor the config calls for, by timm state_dict
// name; a tensor of the source that nothing reads is an error naming it.
func layers(c Config, src nn.Source, o options) ([]stage, *nn.LayerNorm, *nn.Linear, error) {
	w := nn.NewWeights(src)
	w.AllowNonFinite, w.Ignore = o.AllowNonFinite, o.Ignore
	linears := nn.NewLinears(w, o.Precision)
	// linAfter builds a layer that reads norm's output alone (nil: none).
	linAfter := func(norm *nn.LayerNorm, name string, out, in int) nn.Linear {
		wt, b := w.Get(name+".weight", out, in), w.Get(name+".bias", out)
		if w.Err() != nil {
			return nn.Linear{In: in, Out: out}
		}
		return linears.NewAfter(norm, name, wt, b, out, in, nil)
	}
	lin := func(name string, out, in int) nn.Linear { return linAfter(nil, name, out, in) }
	raw := func(name string, out, in int) nn.RawLinear {
		return nn.RawLinear{Names: []string{name}, W: w.Get(name+".weight", out, in), B: w.Get(name+".bias", out), Out: out, In: in}
	}
	stages := make([]stage, c.Stages())
	prev := c.InChans
	for s := range stages {
		st := &stages[s]
		d, p, sr := c.Dims[s], c.Patch[s], c.SR[s]
		*st = stage{dim: d, heads: c.Heads[s], patch: p, sr: sr}
		if len(c.WSS) > 0 {
			st.ws = c.WSS[s]
		}
		pe := fmt.Sprintf("patch_embeds.%d.", s)
		k := w.Get(pe+"proj.weight", d, prev, p, p)
		st.embedB = w.Get(pe+"proj.bias", d)
		st.embedNorm = *nn.NewLayerNorm(w, pe+"norm", d, torchEps)
		if w.Err() == nil {
			if s > 0 {
				k = channelsLast(k, d, prev, p)
			}
			st.embed = kernels.PackB(true, prev*p*p, d, k, prev*p*p)
		}
		st.blocks = make([]block, c.Depths[s])
		h := c.MLPHidden[s]
		for j := range st.blocks {
			b, bp := &st.blocks[j], fmt.Sprintf("blocks.%d.%d.", s, j)
			b.norm1 = *nn.NewLayerNorm(w, bp+"norm1", d, blockEps)
			b.local = c.Local(s, j)
			st.local, st.global = st.local || b.local, st.global || !b.local
			switch {
			case b.local:
				// Window rows are norm1's output (or padding, which
				// windowQKV fills with norm1.Zero when qkv took norm1's
				// affine part).
				b.qkv = linAfter(&b.norm1, bp+"attn.qkv", 3*d, d)
			case sr > 1:
				// norm1's output feeds q and the keys' reduction
				// convolution: an int8 q takes norm1 folded in with it
				// (Linears.BuildAfterShared).
				q, kv := raw(bp+"attn.q", d, d), raw(bp+"attn.kv", 2*d, d)
				conv := nn.RawLinear{Names: []string{bp + "attn.sr"}, W: w.Get(bp+"attn.sr.weight", d, d, sr, sr), B: w.Get(bp+"attn.sr.bias", d), Out: d, In: d * sr * sr}
				b.srNorm = *nn.NewLayerNorm(w, bp+"attn.norm", d, torchEps)
				if w.Err() == nil {
					b.q = linears.BuildAfterShared(&b.norm1, q, nil, &conv)
					b.srConv, b.srB = kernels.PackB(true, d*sr*sr, d, channelsLast(conv.W, d, d, sr), d*sr*sr), conv.B
					b.kv = linears.BuildAfter(&b.srNorm, kv, nil)
				}
			default:
				// At sr 1 norm1's output feeds q and kv alike.
				q, kv := raw(bp+"attn.q", d, d), raw(bp+"attn.kv", 2*d, d)
				if w.Err() == nil {
					b.q = linears.BuildAfterShared(&b.norm1, q, nil, &kv)
					b.kv = linears.Build(kv, nil)
				}
			}
			b.proj = lin(bp+"attn.proj", d, d)
			b.norm2 = *nn.NewLayerNorm(w, bp+"norm2", d, blockEps)
			b.mlp = nn.MLP{FC1: linAfter(&b.norm2, bp+"mlp.fc1", h, d), FC2: lin(bp+"mlp.fc2", d, h), Act: kernels.ActGELU}
		}
		pw, pb := w.Get(fmt.Sprintf("pos_block.%d.proj.0.weight", s), d, 1, 3, 3), w.Get(fmt.Sprintf("pos_block.%d.proj.0.bias", s), d)
		if w.Err() == nil {
			st.pegW, st.pegB = tapMajor(pw, d), pb
		}
		prev = d
	}
	norm := nn.NewLayerNorm(w, "norm", prev, blockEps)
	var head *nn.Linear
	if c.NumClasses > 0 {
		l := lin("head", c.NumClasses, prev)
		head = &l
	}
	if err := w.Finish(); err != nil {
		return nil, nil, nil, err
	}
	return stages, norm, head, nil
}

// channelsLast reorders a [out, in, p, p] convolution kernel to
// [out, p, p, in], the column order of hwcPatches.
func channelsLast(k []float32, out, in, p int) []float32 {
	r := make([]float32, len(k))
	n := in * p * p
	for o := 0; o < out; o++ {
		for c := 0; c < in; c++ {
			for y := 0; y < p; y++ {
				for x := 0; x < p; x++ {
					r[o*n+(y*p+x)*in+c] = k[o*n+(c*p+y)*p+x]
				}
			}
		}
	}
	return r
}

// tapMajor turns a depthwise [C, 1, 3, 3] kernel into DWConv3x3's 9×C.
func tapMajor(k []float32, c int) []float32 {
	r := make([]float32, 9*c)
	for ch := 0; ch < c; ch++ {
		for t := 0; t < 9; t++ {
			r[t*c+ch] = k[ch*9+t]
		}
	}
	return r
}

// hwcPatches writes rows [lo, hi) of the p-strided patches of an
// h×w×c channels-last grid, one patch per row in [p, p, c] order; out is
// the output grid's width (⌊w/p⌋), so every patch lies inside the grid.
func hwcPatches(dst, src []float32, w, c, p, out, lo, hi int) {
	k := p * p * c
	for i := lo; i < hi; i++ {
		row := dst[(i-lo)*k : (i-lo+1)*k]
		y0, x0 := (i/out)*p, (i%out)*p
		for ky := 0; ky < p; ky++ {
			at := ((y0+ky)*w + x0) * c
			copy(row[ky*p*c:(ky+1)*p*c], src[at:at+p*c])
		}
	}
}
