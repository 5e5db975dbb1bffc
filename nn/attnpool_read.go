package nn

import "github.com/anyres/anyres/kernels"

// RawAttentionPool is the tensors of timm's AttentionPoolLatent (the 'map'
// head of SigLIP, Perception Encoder) as read, ready to pack with Build.
type RawAttentionPool struct {
	pool        AttentionPool // latent, heads, norm
	q, kv, proj RawLinear
	mlp         RawMLP
}

// ReadAttentionPool reads an attention-pool head under prefix (e.g.
// "attn_pool."): latents learned queries of width d, heads attention
// heads, q, kv (2·d: [k | v]) and proj with biases, norm and a plain MLP
// of the given hidden width and activation.
func ReadAttentionPool(w *Weights, prefix string, d, latents, heads, hidden int, act kernels.Activation, eps float64) *RawAttentionPool {
	r := &RawAttentionPool{pool: AttentionPool{Latent: w.Get(prefix+"latent", 1, latents, d), LatentN: latents, Heads: heads}}
	r.pool.Norm = *NewLayerNorm(w, prefix+"norm", d, eps)
	read := func(name string, out, in int) RawLinear {
		return RawLinear{Names: []string{prefix + name}, W: w.Get(prefix+name+".weight", out, in), B: w.Get(prefix+name+".bias", out), Out: out, In: in}
	}
	r.q, r.kv, r.proj = read("q", d, d), read("kv", 2*d, d), read("proj", d, d)
	r.mlp = ReadMLP(w, prefix+"mlp.", MLPPlain, d, hidden, act, false, eps)
	return r
}

// Build packs the head in lin's format (nil: float32).
func (r *RawAttentionPool) Build(lin *Linears) *AttentionPool {
	p := r.pool
	p.Q, p.KV, p.Proj = lin.Build(r.q, nil), lin.Build(r.kv, nil), lin.Build(r.proj, nil)
	p.MLP = r.mlp.Build(lin, nil)
	return &p
}
