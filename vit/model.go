package vit

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/posenc"
)

// DefaultMaxTokens is the token cap of a forward pass (all packed images
// together) when Options.MaxTokens is zero: 16384 tokens is a 2048² image
// at patch 16.
const DefaultMaxTokens = 16384

// Options tune how a model runs. The zero value is fine.
type Options struct {
	// Config replaces the `config` metadata of the weight file (needed for
	// checkpoints that do not carry one).
	Config *Config
	// Threads is the number of workers of one forward pass; 0 means
	// GOMAXPROCS. Results do not depend on it.
	Threads int
	// MaxTokens caps the tokens of one forward pass; 0 means DefaultMaxTokens.
	MaxTokens int
	// Edge is the edge policy for sizes that are not whole patches.
	Edge EdgePolicy
	// PatchSize runs the model at another patch size (FlexiViT): the patch
	// kernel is resized by its pseudo-inverse. Zero keeps the checkpoint's.
	PatchSize [2]int
	// PosEncoder replaces the checkpoint's position embedding (e.g. a
	// sin-cos encoding); nil uses the stored table, or none.
	PosEncoder posenc.Encoder
	// Rotary rotates q and k of the patch tokens in every block, right after
	// the qkv projection (EVA-02 and RoPE-ViT style; prefix tokens are left
	// alone), each image on its own grid, e.g. a *posenc.Rope2D. nil: none.
	// New checks that it accepts the model's heads and head dim.
	Rotary posenc.Rotary
	// AttentionBias is added to every head's attention logits (after the
	// 1/√head_dim scale, before the softmax) in every block, each image
	// with the bias of its own whole grid as the window (BEiT style), e.g.
	// a *posenc.RelPosBias or *posenc.CPB. nil: none. Its Heads must be
	// the model's NumHeads.
	AttentionBias posenc.AttentionBias
	// Resample is how the stored position table is resampled to each grid
	// and, with PatchSize, how the patch kernel is resized; nil means
	// timm's defaults (bicubic with antialias).
	Resample *posenc.ResampleOptions
}

// Model is a loaded ViT, safe for concurrent use.
type Model struct {
	cfg       Config
	patch     [2]int // the patch size it runs at
	patchW    *kernels.PackedB
	w         *weights
	pos       posenc.Encoder
	rotary    posenc.Rotary
	bias      posenc.AttentionBias
	threads   int
	maxTokens int
	edge      EdgePolicy
	jobs      chan *task
	pool      sync.Pool                 // workspaces of concurrent callers
	spare     atomic.Pointer[workspace] // one workspace the GC never takes: the steady single caller
	file      *tensorfile.File          // owned when loaded by Load
	closed    atomic.Bool
}

// Load opens a safetensors checkpoint with timm state_dict names. Its
// architecture comes from the file's `config` metadata unless
// opts.Config is set. Close releases the file.
func Load(path string, opts Options) (*Model, error) {
	f, err := tensorfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vit: %w", err)
	}
	m, err := LoadFile(f, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	m.file = f
	return m, nil
}

// LoadBytes builds a model from a safetensors file held in memory; data
// must not change while the model is used (F32 vectors are used in place).
func LoadBytes(data []byte, opts Options) (*Model, error) {
	f, err := tensorfile.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("vit: %w", err)
	}
	return LoadFile(f, opts)
}

// LoadFile builds a model from an open file; the file must stay open while
// the model is used (its vectors are used in place).
func LoadFile(f *tensorfile.File, opts Options) (*Model, error) {
	var cfg Config
	if opts.Config != nil {
		cfg = *opts.Config
	} else {
		raw, ok := f.Metadata()["config"]
		if !ok {
			return nil, fmt.Errorf("%w: the file has no `config` metadata; pass Options.Config", ErrConfig)
		}
		var err error
		if cfg, err = ParseConfig([]byte(raw)); err != nil {
			return nil, err
		}
	}
	return New(cfg, f, opts)
}

// New builds a model from a config and its weights.
func New(cfg Config, src TensorSource, opts Options) (*Model, error) {
	if cfg.InChans == 0 {
		cfg.InChans = 3
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, patch: cfg.PatchSize, threads: opts.Threads, maxTokens: opts.MaxTokens, edge: opts.Edge}
	if m.threads <= 0 {
		m.threads = runtime.GOMAXPROCS(0)
	}
	m.threads = min(m.threads, 256)
	if m.maxTokens <= 0 {
		m.maxTokens = DefaultMaxTokens
	}
	if m.edge == EdgeDefault {
		m.edge = EdgeCrop
		if cfg.DynamicImgPad {
			m.edge = EdgePad
		}
	}
	if m.edge < EdgeDefault || m.edge > EdgeResize {
		return nil, fmt.Errorf("%w: unknown edge policy %d", ErrConfig, int(m.edge))
	}
	w, err := loadWeights(cfg, src)
	if err != nil {
		return nil, err
	}
	m.w = w
	kernel := w.patchKernel
	if p := opts.PatchSize; p != [2]int{} && p != cfg.PatchSize {
		if p[0] <= 0 || p[1] <= 0 || p[0] > maxPatch || p[1] > maxPatch {
			return nil, fmt.Errorf("%w: patch size %v: each side must be in 1..%d", ErrConfig, p, maxPatch)
		}
		if kernel, err = resizePatchKernel(kernel, cfg, p, resampleOptions(opts.Resample)); err != nil {
			return nil, err
		}
		m.patch = p
	}
	k := cfg.Channels() * m.patch[0] * m.patch[1]
	m.patchW = kernels.PackB(true, k, cfg.EmbedDim, kernel, k)
	switch {
	case opts.PosEncoder != nil:
		m.pos = opts.PosEncoder
	case cfg.PosEmbed == "learn":
		tablePrefix := cfg.Prefix()
		if cfg.NoEmbedClass {
			tablePrefix = 0
		}
		th, tw := cfg.TrainGrid()
		if m.pos, err = posenc.NewLearned(w.pos, tablePrefix, posenc.Grid{H: th, W: tw}, cfg.EmbedDim, resampleOptions(opts.Resample)); err != nil {
			return nil, fmt.Errorf("%w: position table: %v", ErrConfig, err)
		}
	default:
		m.pos = posenc.None{}
	}
	if err := m.setAttentionEncodings(opts); err != nil {
		return nil, err
	}
	m.start()
	return m, nil
}

// setAttentionEncodings checks and keeps the encodings that act inside
// attention. The rotary is tried on a one-token grid, which checks heads
// and head dim for any implementation (Rope2D wants a multiple of 4).
func (m *Model) setAttentionEncodings(opts Options) error {
	c := m.cfg
	if r := opts.Rotary; r != nil {
		d := c.EmbedDim
		if err := r.RotateQKV(make([]float32, 3*d), 3*d, posenc.Grid{H: 1, W: 1}, c.NumHeads, c.HeadDim(), 0); err != nil {
			return fmt.Errorf("%w: rotary embedding for %d heads of %d: %v", ErrConfig, c.NumHeads, c.HeadDim(), err)
		}
		m.rotary = r
	}
	if b := opts.AttentionBias; b != nil {
		if b.Heads() != c.NumHeads {
			return fmt.Errorf("%w: attention bias has %d heads, the model %d", ErrConfig, b.Heads(), c.NumHeads)
		}
		m.bias = b
	}
	return nil
}

// WithThreads returns a model that shares m's weights but runs each
// forward pass on n workers (0: GOMAXPROCS). Closing either closes the file
// of both.
func (m *Model) WithThreads(n int) *Model {
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	c := &Model{cfg: m.cfg, patch: m.patch, patchW: m.patchW, w: m.w, pos: m.pos, rotary: m.rotary, bias: m.bias, threads: min(n, 256),
		maxTokens: m.maxTokens, edge: m.edge, file: m.file}
	c.start()
	return c
}

// start launches the helper goroutines and readies the workspace pool.
func (m *Model) start() {
	m.jobs = startHelpers(m.threads - 1)
	// The helpers hold only the channel, so an unreachable model is
	// collected and its helpers end.
	runtime.AddCleanup(m, func(jobs chan *task) { close(jobs) }, m.jobs)
	m.pool.New = func() any { return newWorkspace(m) }
}

// Close releases the weight file of a model made by Load. The model must
// not be used afterwards.
func (m *Model) Close() error {
	if m.closed.Swap(true) || m.file == nil {
		return nil
	}
	return m.file.Close()
}

// Config returns the model's architecture.
func (m *Model) Config() Config { return m.cfg }

// PatchSize is the patch size the model runs at.
func (m *Model) PatchSize() [2]int { return m.patch }

// Grid returns the patch grid an H×W image gets under the model's edge policy.
func (m *Model) Grid(h, w int) posenc.Grid { return gridFor(h, w, m.patch, m.edge) }

// Output is one image's results. Its slices are reused by later calls that
// are given the same Output, so keep copies of what must survive.
type Output struct {
	Grid   posenc.Grid // the patch grid
	Prefix int         // class and register tokens before the patch tokens
	// Tokens is timm's forward_features: (Prefix + Grid.N()) rows of
	// EmbedDim, after the final norm.
	Tokens []float32
	// Pooled is the pooled feature (class token or mean of patch tokens,
	// after fc_norm): timm's forward_head(pre_logits=True). Empty when the
	// config has no pooling.
	Pooled []float32
	// Logits is timm's forward_head: NumClasses values; empty without a head.
	Logits []float32
}

// Forward runs one image.
func (m *Model) Forward(img Image, out *Output) error {
	imgs, outs := [1]Image{img}, [1]Output{*out}
	err := m.ForwardBatch(imgs[:], outs[:])
	*out = outs[0]
	return err
}

// ForwardBatch runs images of any sizes together as one packed sequence
// (NaViT): every token-wise step runs on all of them at once, attention
// stays within each image, and outs[i] is what Forward(imgs[i]) gives.
func (m *Model) ForwardBatch(imgs []Image, outs []Output) error {
	if m.closed.Load() {
		return errors.New("vit: model is closed")
	}
	if len(outs) != len(imgs) {
		return fmt.Errorf("vit: %d images but %d outputs", len(imgs), len(outs))
	}
	ws := m.getWorkspace()
	defer m.putWorkspace(ws)
	if err := ws.pack(imgs); err != nil {
		return err
	}
	if err := ws.forward(); err != nil {
		return err
	}
	ws.outputs(outs)
	return nil
}

// getWorkspace takes the spare workspace, or one from the pool. The spare
// exists because sync.Pool drops its contents at garbage collections and
// keeps one per P: a caller that runs forward passes in a loop would
// otherwise now and then rebuild its workspace.
func (m *Model) getWorkspace() *workspace {
	if ws := m.spare.Swap(nil); ws != nil {
		return ws
	}
	return m.pool.Get().(*workspace)
}

func (m *Model) putWorkspace(ws *workspace) {
	if !m.spare.CompareAndSwap(nil, ws) {
		m.pool.Put(ws)
	}
}

// forward runs the packed sequence through the network.
func (ws *workspace) forward() error {
	m := ws.m
	c := m.cfg
	d, prefix := c.EmbedDim, c.Prefix()
	ws.embedItems()
	ws.items = ws.embed
	ws.run(phaseEmbed)
	for i := range ws.segs {
		s := &ws.segs[i]
		x := ws.x[s.off*d : (s.off+s.n)*d]
		if c.ClassToken {
			copy(x, m.w.cls)
		}
		if c.RegTokens > 0 {
			copy(x[(prefix-c.RegTokens)*d:], m.w.reg)
		}
		if err := m.pos.AddTo(x, prefix, s.grid, d); err != nil {
			return fmt.Errorf("vit: position embedding at grid %s: %w", s.grid, err)
		}
	}
	if err := ws.checkBias(); err != nil {
		return err
	}
	ws.attentionItems()
	ws.items = ws.attn
	for b := -1; b < c.Depth; b++ {
		if b >= 0 {
			ws.run(phaseAttention)
			if err := ws.attentionError(); err != nil {
				return err
			}
		}
		ws.block = b
		ws.run(phaseRows)
		if b+1 < c.Depth {
			if err := ws.rotate(); err != nil {
				return err
			}
		}
	}
	return nil
}

// outputs copies features out and applies pooling and the head.
func (ws *workspace) outputs(outs []Output) {
	m := ws.m
	c := m.cfg
	d, prefix := c.EmbedDim, c.Prefix()
	eps := float32(c.NormEps)
	for i, s := range ws.segs {
		o := &outs[i]
		o.Grid, o.Prefix = s.grid, prefix
		o.Tokens = grow(o.Tokens, s.n*d)
		copy(o.Tokens, ws.x[s.off*d:(s.off+s.n)*d])
		if c.GlobalPool == "" {
			o.Pooled, o.Logits = o.Pooled[:0], o.Logits[:0]
			continue
		}
		o.Pooled = grow(o.Pooled, d)
		pool(o.Pooled, o.Tokens, c.GlobalPool, prefix, s.n, d)
		if c.FCNorm {
			tmp := ws.work[0].pooled
			kernels.LayerNorm(tmp, o.Pooled, m.w.fcNormW, m.w.fcNormB, eps)
			copy(o.Pooled, tmp)
		}
		if m.w.head == nil {
			o.Logits = o.Logits[:0]
			continue
		}
		o.Logits = grow(o.Logits, c.NumClasses)
		kernels.GemmPacked(1, 1, o.Pooled, d, m.w.head, o.Logits, c.NumClasses, kernels.Epilogue{Bias: m.w.headB})
	}
}

// pool sets dst to the class token (token) or the mean of the patch tokens
// (avg; summed in float64).
func pool(dst, tokens []float32, kind string, prefix, n, d int) {
	if kind == "token" {
		copy(dst, tokens[:d])
		return
	}
	for j := 0; j < d; j++ {
		var sum float64
		for r := prefix; r < n; r++ {
			sum += float64(tokens[r*d+j])
		}
		dst[j] = float32(sum / float64(n-prefix))
	}
}
