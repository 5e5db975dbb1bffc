package nn

import (
	"fmt"
	"math"

	"github.com/anyres/anyres/kernels"
)

// Pooling is how forward_head reduces the tokens to one feature.
type Pooling int

const (
	PoolNone  Pooling = iota // no pooled feature, no logits
	PoolToken                // the class token (timm global_pool='token')
	PoolAvg                  // the mean of the patch tokens ('avg')
	PoolMAP                  // an attention-pool head over all tokens ('map', SigLIP)
	// PoolTokenAvg concatenates the class token and the mean of the patch
	// tokens: a feature twice the model width (transformers'
	// Dinov2ForImageClassification).
	PoolTokenAvg
)

// Head is timm's forward_head: pooling, an optional norm on the pooled
// feature, and the classifiers.
type Head struct {
	Pool Pooling
	// Tokens is, for PoolToken, the number of leading tokens averaged into
	// the pooled feature (DeiT distilled: class and distillation, 2); 0
	// means 1.
	Tokens int
	FCNorm *LayerNorm // timm fc_norm; nil for none
	MAP    *AttentionPool
	// Pooler is transformers' ViT pooler: the pooled feature becomes
	// tanh(Pooler(pooled)). nil for none.
	Pooler *Linear
	// Classifiers: none (no logits), one (on the pooled feature), or, with
	// Tokens > 1, one per pooled token with the logits averaged (DeiT's
	// head and head_dist at inference).
	Classifiers []Linear
}

func (h *Head) tokens() int { return max(h.Tokens, 1) }

// width is the width of the pooled feature for tokens of width d.
func (h *Head) width(d int) int {
	if h.Pool == PoolTokenAvg {
		return 2 * d
	}
	return d
}

func (h *Head) check(d int) error {
	if h.Pool == PoolMAP && h.MAP == nil {
		return fmt.Errorf("%w: attention pooling without its layers", ErrConfig)
	}
	if h.Pool == PoolTokenAvg && (h.FCNorm != nil || h.Pooler != nil || len(h.Classifiers) > 1) {
		return fmt.Errorf("%w: class-and-mean pooling takes one classifier and no norm or pooler", ErrConfig)
	}
	if p := h.Pooler; p != nil && (p.In != d || p.Out != d) {
		return fmt.Errorf("%w: pooler is %d→%d, want %d→%d", ErrConfig, p.In, p.Out, d, d)
	}
	if n := len(h.Classifiers); n > 1 && n != h.tokens() {
		return fmt.Errorf("%w: %d classifiers for %d pooled tokens", ErrConfig, n, h.tokens())
	}
	for i, c := range h.Classifiers {
		if c.In != h.width(d) || c.Out != h.Classifiers[0].Out {
			return fmt.Errorf("%w: classifier %d is %d→%d, want %d→%d", ErrConfig, i, c.In, c.Out, h.width(d), h.Classifiers[0].Out)
		}
	}
	if h.MAP != nil {
		return h.MAP.check(d)
	}
	return nil
}

// NumClasses is the number of logits (0 without a classifier).
func (h *Head) NumClasses() int {
	if len(h.Classifiers) == 0 {
		return 0
	}
	return h.Classifiers[0].Out
}

// Apply is forward_head for a family that runs its own blocks: it pools
// one image's n token rows of width d (prefix of them before the patches)
// into out.Pooled and applies the classifiers into out.Logits. buf holds
// Scratch(n, d) values; an attention-pool head runs on one thread.
func (h *Head) Apply(tokens []float32, n, prefix, d int, buf []float32, out *Output) {
	h.forward(1, tokens, n, prefix, d, buf, out)
}

// Scratch is the length of the buffer Apply needs for n tokens of width d.
func (h *Head) Scratch(n, d int) int { return h.scratch(n, d) }

// scratch is the buffer forward needs for n tokens of width d.
func (h *Head) scratch(n, d int) int {
	s := 2 * d // pooled feature, per-classifier logits row aside
	if h.MAP != nil {
		s += h.MAP.scratch(n, d)
	}
	return s + h.NumClasses()
}

// forward pools tokens (n rows of d, prefix of them before the patches)
// into out.Pooled and applies the classifiers into out.Logits.
func (h *Head) forward(t kernels.Threads, tokens []float32, n, prefix, d int, buf []float32, out *Output) {
	if h.Pool == PoolNone {
		out.Pooled, out.Logits = out.Pooled[:0], out.Logits[:0]
		return
	}
	out.Pooled = Grow(out.Pooled, h.width(d))
	p := out.Pooled
	switch h.Pool {
	case PoolToken:
		k := h.tokens()
		copy(p, tokens[:d])
		for i := 1; i < k; i++ {
			kernels.Add(p, p, tokens[i*d:(i+1)*d])
		}
		if k > 1 {
			kernels.Scale(p, p, 1/float32(k))
		}
	case PoolAvg:
		meanRows(p, tokens, prefix, n, d)
	case PoolTokenAvg:
		copy(p, tokens[:d])
		meanRows(p[d:], tokens, prefix, n, d)
	case PoolMAP:
		h.MAP.forward(t, tokens, n, d, p, buf[2*d:])
	}
	if h.Pooler != nil {
		tmp := buf[:d]
		h.Pooler.Apply(1, 1, p, d, tmp, d, kernels.ActNone, nil)
		for j, v := range tmp {
			p[j] = float32(math.Tanh(float64(v)))
		}
	}
	if h.FCNorm != nil {
		tmp := buf[:d]
		kernels.LayerNorm(tmp, p, h.FCNorm.W, h.FCNorm.B, h.FCNorm.Eps)
		copy(p, tmp)
	}
	nc := h.NumClasses()
	if nc == 0 {
		out.Logits = out.Logits[:0]
		return
	}
	out.Logits = Grow(out.Logits, nc)
	if len(h.Classifiers) == 1 {
		h.Classifiers[0].Apply(1, 1, p, h.width(d), out.Logits, nc, kernels.ActNone, nil)
		return
	}
	// One classifier per token, averaged (DeiT distilled).
	row := buf[len(buf)-nc:]
	clear(out.Logits)
	for i := range h.Classifiers {
		h.Classifiers[i].Apply(1, 1, tokens[i*d:(i+1)*d], d, row, nc, kernels.ActNone, nil)
		kernels.Add(out.Logits, out.Logits, row)
	}
	kernels.Scale(out.Logits, out.Logits, 1/float32(len(h.Classifiers)))
}

// meanRows sets dst (d values) to the mean of rows lo..n-1 of tokens.
func meanRows(dst, tokens []float32, lo, n, d int) {
	for j := 0; j < d; j++ {
		var sum float64
		for r := lo; r < n; r++ {
			sum += float64(tokens[r*d+j])
		}
		dst[j] = float32(sum / float64(n-lo))
	}
}

// AttentionPool is timm's AttentionPoolLatent (global_pool='map'): learned
// latent queries attend over all tokens, x = Proj(attention),
// x += MLP(Norm(x)), and the first latent (or their mean) is the feature.
type AttentionPool struct {
	Latent  []float32 // LatentN rows of d
	LatentN int
	Heads   int
	Q       Linear // d → d
	KV      Linear // d → 2d: [k | v], heads interleaved
	Proj    Linear
	Norm    LayerNorm
	MLP     MLP
	Mean    bool // average the latents instead of taking the first (pool='avg')
}

func (a *AttentionPool) check(d int) error {
	switch {
	case a.LatentN <= 0 || len(a.Latent) != a.LatentN*d:
		return fmt.Errorf("%w: attention pool latent has %d values for %d×%d", ErrConfig, len(a.Latent), a.LatentN, d)
	case a.Heads <= 0 || d%a.Heads != 0:
		return fmt.Errorf("%w: attention pool width %d does not split into %d heads", ErrConfig, d, a.Heads)
	case a.Q.In != d || a.Q.Out != d || a.KV.In != d || a.KV.Out != 2*d || a.Proj.In != d || a.Proj.Out != d:
		return fmt.Errorf("%w: attention pool layers do not fit width %d", ErrConfig, d)
	}
	return a.MLP.Check(d)
}

func (a *AttentionPool) scratch(n, d int) int {
	l := a.LatentN
	return 4*l*d + n*2*d + l*n + l*a.MLP.Scratch()
}

// forward pools n tokens of width d into dst (d values).
func (a *AttentionPool) forward(t kernels.Threads, tokens []float32, n, d int, dst, buf []float32) {
	l, hd := a.LatentN, d/a.Heads
	take := func(k int) []float32 { s := buf[:k]; buf = buf[k:]; return s }
	q, ao, x, ln := take(l*d), take(l*d), take(l*d), take(l*d)
	kv, scores, hid := take(n*2*d), take(l*n), take(l*a.MLP.Scratch())
	a.Q.Apply(t, l, a.Latent, d, q, d, kernels.ActNone, nil)
	a.KV.Apply(t, n, tokens, d, kv, 2*d, kernels.ActNone, nil)
	scale := float32(1 / math.Sqrt(float64(hd)))
	for h := 0; h < a.Heads; h++ {
		c := h * hd
		kernels.Sgemm(1, false, true, l, n, hd, 1, q[c:], d, kv[c:], 2*d, 0, scores, n)
		kernels.SoftmaxRows(scores, scores, n, scale, nil)
		kernels.Sgemm(1, false, false, l, hd, n, 1, scores, n, kv[d+c:], 2*d, 0, ao[c:], d)
	}
	a.Proj.Apply(t, l, ao, d, x, d, kernels.ActNone, nil)
	a.Norm.Rows(ln, x)
	a.MLP.Forward(t, l, ln, hid, x)
	copy(dst, x[:d])
	if a.Mean && l > 1 {
		for i := 1; i < l; i++ {
			kernels.Add(dst, dst, x[i*d:(i+1)*d])
		}
		kernels.Scale(dst, dst, 1/float32(l))
	}
}
