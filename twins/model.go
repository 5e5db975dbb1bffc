package twins

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// options tune loading and running (the front door sets them from
// anyres.Options); the zero value is fine.
type options struct {
	nn.RunOptions
	AllowNonFinite bool
	// Ignore names tensors of the source that are not weights (nil: none).
	Ignore func(name string) bool
	// Precision is the number format of the blocks' and head's Linear
	// layers (nn.Linears); the patch embeddings, the PEG and spatial
	// reduction convolutions, norms and attention stay float32.
	Precision nn.Precision
}

// Model is a loaded Twins (PCPVT or SVT), safe for concurrent use.
type Model struct {
	cfg       Config
	arch      string
	stages    []stage
	norm      *nn.LayerNorm
	head      nn.Head // the mean of the last stage's tokens, then the classifier (timm's 'avg' head)
	edge      nn.EdgePolicy
	maxTokens int
	pack      int      // packTokens (tests lower it)
	input     nn.Input // what Info.Input reports
	run       *nn.Runner[workspace]
}

// newModel builds a model from a config and its weights (timm state_dict names).
func newModel(cfg Config, src nn.Source, opts options) (*Model, error) {
	return build(cfg, src, opts, nil)
}

func build(cfg Config, src nn.Source, opts options, closer io.Closer) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := opts.CheckEdges("Twins", "crop, as its strided convolutions do, or pad", nn.EdgeCrop, nn.EdgePad); err != nil {
		return nil, err
	}
	if err := opts.Precision.Check(); err != nil {
		return nil, err
	}
	stages, norm, head, err := layers(cfg, src, opts)
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, stages: stages, norm: norm, head: nn.Head{Pool: nn.PoolAvg}, edge: opts.Edge, maxTokens: opts.MaxTokens, input: opts.Input,
		pack: packTokens}
	if head != nil {
		m.head.Classifiers = []nn.Linear{*head}
	}
	if m.edge == nn.EdgeDefault {
		m.edge = nn.EdgeCrop
	}
	if m.maxTokens == 0 {
		m.maxTokens = nn.DefaultMaxTokens
	}
	m.start(nn.NewLifetime(closer), opts.Threads)
	return m, nil
}

// start readies the workers and workspaces of one thread count.
func (m *Model) start(life *nn.Lifetime, threads int) {
	m.run = nn.NewRunner(life, threads, func() *workspace { return &workspace{m: m, work: make([]scratch, m.run.Threads())} })
}

// WithThreads returns a model that shares m's weights and lifetime but runs
// each forward pass on n workers (0: GOMAXPROCS).
func (m *Model) WithThreads(n int) nn.Net { return m.withThreads(n) }

func (m *Model) withThreads(n int) *Model {
	c := &Model{cfg: m.cfg, arch: m.arch, stages: m.stages, norm: m.norm, head: m.head, edge: m.edge,
		maxTokens: m.maxTokens, input: m.input, pack: m.pack}
	c.start(m.run.Lifetime(), n)
	return c
}

// Config returns the architecture.
func (m *Model) Config() Config { return m.cfg }

// Close waits for forward passes in flight, then releases the weights.
func (m *Model) Close() error { return m.run.Close() }

// grids returns the token grid of every stage for an h×w image.
func (m *Model) grids(h, w int, dst []posenc.Grid) []posenc.Grid {
	dst = dst[:0]
	g := nn.GridFor(h, w, [2]int{m.stages[0].patch, m.stages[0].patch}, m.edge)
	for s := range m.stages {
		if s > 0 {
			p := m.stages[s].patch
			g = posenc.Grid{H: g.H / p, W: g.W / p}
		}
		dst = append(dst, g)
	}
	return dst
}

// Grid is the last stage's grid for an H×W image (the rows of Output.Tokens).
func (m *Model) Grid(h, w int) posenc.Grid {
	var buf [maxStages]posenc.Grid
	g := m.grids(h, w, buf[:0])
	return g[len(g)-1]
}

// Tokens is what an H×W image counts against MaxTokens: its first-stage
// tokens.
func (m *Model) Tokens(h, w int) int {
	var buf [maxStages]posenc.Grid
	return m.grids(h, w, buf[:0])[0].N()
}

// MaxTokens is the cap on the first-stage tokens of one image.
func (m *Model) MaxTokens() int { return m.maxTokens }

// Threads is the number of workers of one forward pass.
func (m *Model) Threads() int { return m.run.Threads() }

// Info describes the model (nn.Net).
func (m *Model) Info() nn.Info {
	j, _ := m.cfg.JSON()
	return nn.Info{Family: "twins", Architecture: m.arch, Width: m.cfg.Dims[len(m.cfg.Dims)-1],
		Patch: [2]int{m.cfg.Patch[0], m.cfg.Patch[0]}, Channels: m.cfg.InChans, NumClasses: m.cfg.NumClasses, Config: j, Input: m.input}
}

// Forward runs one image.
func (m *Model) Forward(img nn.Image, out *nn.Output) error {
	return m.run.Forward(img, out, (*workspace).pass)
}

// packTokens bounds the first-stage tokens of the images run in one
// packed pass: small images pack (fewer, fuller phases), large ones run
// alone and keep their buffers in cache (BenchmarkBatch; the numbers are in
// bench/peers/README.md).
const packTokens = 4096

// ForwardBatch runs images of any sizes, consecutive images packed into
// one pass (every phase's work items cover all of them) up to packTokens
// first-stage tokens; outs[i] is what Forward(imgs[i]) gives, bit for
// bit: each image's rows are tiled as when it runs alone.
func (m *Model) ForwardBatch(imgs []nn.Image, outs []nn.Output) error {
	return m.run.ForwardBatch(imgs, outs, (*workspace).pass)
}

// pass runs images in packed groups (an nn.RunFunc).
func (ws *workspace) pass(imgs []nn.Image, outs []nn.Output) error {
	m := ws.m
	return nn.PackedGroups(len(imgs), m.pack, func(i int) int { return m.firstTokens(imgs[i]) }, func(lo, hi int) error {
		if err := ws.prepare(imgs[lo:hi], lo, len(imgs) > 1); err != nil {
			return err
		}
		ws.forward()
		for i := range ws.segs {
			ws.output(&ws.segs[i], &outs[lo+i])
		}
		return nil
	})
}

// firstTokens is the size of an image's first-stage grid, for packing
// (any image, even one prepare will refuse).
func (m *Model) firstTokens(img nn.Image) int {
	h, w := min(max(img.H, 0), nn.MaxSide), min(max(img.W, 0), nn.MaxSide)
	var buf [maxStages]posenc.Grid
	return m.grids(h, w, buf[:0])[0].N()
}

var _ nn.Net = (*Model)(nil)

func init() {
	nn.Register(nn.Family{Name: "twins", Claims: claims, Load: loadFamily})
}

// claims: a timm twins_pcpvt_* or twins_svt_* name, or Twins' tensors
// (global sub-sampled or locally-grouped attention).
func claims(arch string, ck nn.Checkpoint) int {
	if arch != "" {
		if strings.HasPrefix(arch, "twins_pcpvt_") || strings.HasPrefix(arch, "twins_svt_") {
			return 2
		}
		return 0
	}
	if ck.Has("patch_embeds.0.proj.weight") && ck.Has("pos_block.0.proj.0.weight") &&
		(ck.Has("blocks.0.0.attn.q.weight") || ck.Has("blocks.0.0.attn.qkv.weight")) {
		return 1
	}
	return 0
}

func loadFamily(ck nn.Checkpoint, hub *nn.HubConfig, o nn.LoadOptions) (nn.Net, error) {
	cfg, err := InferConfig(ck, hub)
	if err != nil {
		return nil, err
	}
	if err := nn.CheckOwnPatch("Twins", o.PatchSize, [2]int{cfg.Patch[0], cfg.Patch[0]}); err != nil {
		return nil, err
	}
	if o.Resample != nil {
		return nil, fmt.Errorf("%w: Twins has no position table to resample (its PEG works on any grid)", nn.ErrConfig)
	}
	m, err := build(cfg, ck, options{RunOptions: o.RunOptions, AllowNonFinite: o.AllowNonFinite, Ignore: o.Ignore, Precision: o.Precision}, o.Closer)
	if err != nil {
		return nil, err
	}
	if hub != nil {
		m.arch = hub.Architecture
	}
	return m, nil
}

// attentionScale is timm's head_dim ** -0.5.
func attentionScale(hd int) float32 { return float32(1 / math.Sqrt(float64(hd))) }

// FLOPs counts the floating-point operations (2 per multiply-add) of a
// forward pass over an H×W image: patch embeddings,
// spatial reductions, every GEMM and attention (local attention over its
// padded windows), the PEGs and the head. A size too small to run counts
// nothing.
func (m *Model) FLOPs(h, w int) float64 {
	var buf [maxStages]posenc.Grid
	g := m.grids(h, w, buf[:0])
	prev := float64(m.cfg.InChans)
	var one float64
	for s, st := range m.stages {
		n, c := float64(g[s].N()), float64(st.dim)
		r := posenc.Grid{H: g[s].H / st.sr, W: g[s].W / st.sr}
		if g[s].N() == 0 || (st.global && r.N() == 0) {
			return 0
		}
		keys, p, sr := float64(r.N()), float64(st.patch), float64(st.sr)
		if st.sr == 1 {
			keys = n
		}
		one += 2*n*prev*p*p*c + 18*n*c
		for i := range st.blocks {
			h := float64(st.blocks[i].mlp.Hidden())
			one += 2*n*c*c + 4*n*c*h // projection, MLP
			if st.blocks[i].local {
				win := nn.NewPaddedWindows(g[s], [2]int{st.ws, st.ws})
				rows, nt := float64(win.Rows()), float64(win.Area())
				one += 2*rows*c*3*c + 4*rows*nt*c
				continue
			}
			one += 2*n*c*c + 4*n*keys*c + 2*keys*c*2*c
			if st.sr > 1 {
				one += 2 * keys * c * sr * sr * c
			}
		}
		prev = c
	}
	return one + 2*prev*float64(m.cfg.NumClasses)
}
