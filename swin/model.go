package swin

import (
	"fmt"
	"io"

	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// DefaultMaxTokens is the cap on first-stage tokens (patches, all packed
// images together) of one forward pass when anyres.Options.MaxTokens is zero: a
// 2048² image at patch 4.
const DefaultMaxTokens = 1 << 18

// The types a model takes and gives, shared by every family (package nn).
type (
	Image  = nn.Image
	Output = nn.Output
	// Source is where weights come from: a safetensors file, or an
	// nn.MapSource built in code.
	Source = nn.Source
)

// options tune how a model loads and runs (the front door sets them from
// anyres.Options). The zero value is fine.
type options struct {
	// Threads is the number of workers of one forward pass; 0 means
	// GOMAXPROCS. Results do not depend on it.
	Threads int
	// MaxTokens caps the first-stage tokens of one forward pass; 0 means
	// DefaultMaxTokens.
	MaxTokens int
	// Edge is what happens to image sides that are not whole patches:
	// nn.EdgeDefault refuses them (timm's PatchEmbed asserts whole
	// patches), nn.EdgeCrop drops the remainder, nn.EdgePad pads it with
	// zeros. nn.EdgeResize is not supported.
	Edge nn.EdgePolicy
	// AllowNonFinite accepts NaN and ±Inf in the weights (refused by default).
	AllowNonFinite bool
	// Ignore names tensors of the source that are not weights (nil: none);
	// every other tensor must be used by the architecture.
	Ignore func(name string) bool
	// Precision is the number format of the blocks', patch mergings' and
	// head's Linear layers (nn.Linears); the patch embedding, norms,
	// attention and V2's position-bias MLP stay float32.
	Precision nn.Precision
}

// Model is a loaded Swin Transformer (v1 or V2), safe for concurrent use.
// It implements nn.Net.
type Model struct {
	cfg       Config
	net       *network
	arch      string // timm's architecture name (or transformers' class), when known
	hf        *nn.TransformersInfo
	maxTokens int
	edge      nn.EdgePolicy
	input     nn.Input // what Info.Input reports
	run       *nn.Runner[workspace]
}

// newModel builds a model from a config and its weights. A source that lists
// its tensors (nn.Lister) must hold no tensor the config does not use.
func newModel(cfg Config, src Source, opts options) (*Model, error) {
	return build(cfg, src, opts, nil)
}

// build makes the model; closer (may be nil) is released by Close.
func build(cfg Config, src Source, opts options, closer io.Closer) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	run := nn.RunOptions{Threads: opts.Threads, MaxTokens: opts.MaxTokens, Edge: opts.Edge}
	if err := run.CheckEdges("Swin", "it does not resize images; use crop or pad", nn.EdgeCrop, nn.EdgePad); err != nil {
		return nil, err
	}
	if err := opts.Precision.Check(); err != nil {
		return nil, err
	}
	net, err := load(cfg, src, opts)
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, net: net, maxTokens: opts.MaxTokens, edge: opts.Edge}
	if m.maxTokens == 0 {
		m.maxTokens = DefaultMaxTokens
	}
	m.start(nn.NewLifetime(closer), opts.Threads)
	return m, nil
}

// Config returns the model's architecture.
func (m *Model) Config() Config { return m.cfg }

// WithThreads returns a model that shares m's weights and lifetime (Close
// on either closes both) but runs each forward pass on n workers (0:
// GOMAXPROCS), with workspaces of its own.
func (m *Model) WithThreads(n int) nn.Net { return m.withThreads(n) }

func (m *Model) withThreads(n int) *Model {
	c := &Model{cfg: m.cfg, net: m.net, arch: m.arch, hf: m.hf, maxTokens: m.maxTokens, input: m.input, edge: m.edge}
	c.start(m.run.Lifetime(), n)
	return c
}

// start readies the workers and workspaces of one thread count.
func (m *Model) start(life *nn.Lifetime, threads int) {
	m.run = nn.NewRunner(life, threads, func() *workspace { return newWorkspace(m) })
}

// Threads is the number of workers of one forward pass.
func (m *Model) Threads() int { return m.run.Threads() }

// Close waits for forward passes in flight, then releases the weights.
// Later forward passes return ErrClosed.
func (m *Model) Close() error { return m.run.Close() }

// patchGrid is the patch grid of an H×W image under the model's edge
// policy (the default: whole patches, i.e. floor, after checkImage).
func (m *Model) patchGrid(h, w int) posenc.Grid {
	return nn.GridFor(h, w, m.cfg.PatchSize, m.edge)
}

// Grid returns the last stage's grid for an H×W image (the rows of
// Output.Tokens): the patch grid, halved (rounding up) at each patch
// merging.
func (m *Model) Grid(h, w int) posenc.Grid {
	g := m.patchGrid(h, w)
	for range len(m.cfg.Depths) - 1 {
		g = posenc.Grid{H: (g.H + 1) / 2, W: (g.W + 1) / 2}
	}
	return g
}

// Tokens is what an H×W image counts against MaxTokens: its first-stage
// patches (under the edge policy).
func (m *Model) Tokens(h, w int) int { return m.patchGrid(h, w).N() }

// MaxTokens is the cap on the first-stage patches of one forward pass (all
// packed images together).
func (m *Model) MaxTokens() int { return m.maxTokens }

// checkImage reports why img cannot run, or nil.
func (m *Model) checkImage(img Image) error {
	p := m.cfg.PatchSize
	if err := nn.CheckImage(img, m.cfg.InChans, p); err != nil {
		return err
	}
	if m.edge == nn.EdgeDefault && (img.H%p[0] != 0 || img.W%p[1] != 0) {
		// timm's PatchEmbed (strict_img_size=False, no dynamic_img_pad)
		// asserts this too: there is no reference for other sizes.
		return fmt.Errorf("%w: %d×%d is not a multiple of the %d×%d patch (choose the crop or pad edge policy)", ErrImage, img.H, img.W, p[0], p[1])
	}
	return nil
}

// Forward runs one image.
func (m *Model) Forward(img Image, out *Output) error {
	return m.run.Forward(img, out, (*workspace).pass)
}

// ForwardBatch runs images of any sizes together: every row-local step
// (norms, projections, MLPs) runs on all of them at once, attention stays
// within each image's windows, and outs[i] is what Forward(imgs[i]) gives.
func (m *Model) ForwardBatch(imgs []Image, outs []Output) error {
	return m.run.ForwardBatch(imgs, outs, (*workspace).pass)
}

// pass is one forward pass over packed images (an nn.RunFunc).
func (ws *workspace) pass(imgs []Image, outs []Output) error {
	if err := ws.pack(imgs); err != nil {
		return err
	}
	ws.forward()
	ws.outputs(outs)
	return nil
}

// pack checks the images and the token count, lays the images out one
// after another, and sizes the buffers.
func (ws *workspace) pack(imgs []Image) error {
	m := ws.m
	ws.segs = ws.segs[:0]
	total := 0
	for i, img := range imgs {
		if err := m.checkImage(img); err != nil {
			if len(imgs) > 1 {
				return fmt.Errorf("image %d: %w", i, err)
			}
			return err
		}
		g := m.patchGrid(img.H, img.W)
		if total+g.N() > m.maxTokens {
			return fmt.Errorf("%w: %d patches (with image %d at %d×%d, grid %s) exceed the cap of %d (raise it with the MaxTokens option)",
				ErrTooManyTokens, total+g.N(), i, img.H, img.W, g, m.maxTokens)
		}
		total += g.N()
		ws.segs = append(ws.segs, segment{img: img, patch: g})
	}
	ws.size()
	return nil
}

// Info describes the model (nn.Net).
func (m *Model) Info() nn.Info {
	j, _ := m.cfg.JSON()
	return nn.Info{Family: "swin", Architecture: m.arch, Width: m.cfg.NumFeatures(), Patch: m.cfg.PatchSize,
		Channels: m.cfg.InChans, NumClasses: m.cfg.NumClasses, Config: j, Transformers: m.hf, Input: m.input}
}

var _ nn.Net = (*Model)(nil)

// BiasTable returns the relative position bias that head of block of
// stage adds for each offset of an H×W window: (2H-1)·(2W-1) values,
// row-major over offsets dy = -(H-1)…H-1, dx = -(W-1)…W-1 (timm's table
// order). At the stage's own window it is the bias the model runs with.
// V2 computes it for any window from its MLP, normalising offsets by the
// pretrained window (the config's, else the stage's own window, as timm's
// window-transfer models set it): a larger window extrapolates. v1's
// learned table exists for the stage's window only.
func (m *Model) BiasTable(stage, block, head int, window [2]int) ([]float32, error) {
	if stage < 0 || stage >= len(m.net.stages) || block < 0 || block >= len(m.net.stages[stage].blocks) {
		return nil, fmt.Errorf("%w: no block %d in stage %d", ErrConfig, block, stage)
	}
	st := &m.net.stages[stage]
	b := &st.blocks[block]
	if head < 0 || head >= st.heads {
		return nil, fmt.Errorf("%w: head %d of %d", ErrConfig, head, st.heads)
	}
	if window == st.window {
		return append([]float32(nil), b.table[head*st.rows:(head+1)*st.rows]...), nil
	}
	if b.cpb[0] == nil {
		return nil, fmt.Errorf("%w: a v1 bias table exists for its window %v only, not %v", ErrConfig, st.window, window)
	}
	g := posenc.Grid{H: window[0], W: window[1]}
	if err := g.Validate(); err != nil || window[0] > 64 || window[1] > 64 {
		return nil, fmt.Errorf("%w: window %v: sides must be in 1..64", ErrConfig, window)
	}
	pre := m.cfg.PretrainedWindow(stage)
	if pre == ([2]int{}) {
		pre = st.window
	}
	t, err := cpbTable(b.cpb, st.heads, g, pre)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return headMajor(t, len(t)/st.heads, st.heads)[head*len(t)/st.heads : (head+1)*len(t)/st.heads], nil
}

// FLOPs counts the floating-point operations (2 per multiply-add) of one
// forward pass over an H×W image: patch
// embedding, patch merging, every block's projections (on the padded
// window rows), window attention and MLP, and the head.
func (m *Model) FLOPs(h, w int) float64 {
	c := &m.cfg
	var f float64
	g := m.patchGrid(h, w)
	k := float64(c.InChans * c.PatchSize[0] * c.PatchSize[1])
	f += 2 * float64(g.N()) * k * float64(c.EmbedDim)
	for si, st := range m.net.stages {
		d := float64(st.dim)
		if si > 0 {
			g = posenc.Grid{H: (g.H + 1) / 2, W: (g.W + 1) / 2}
			f += 2 * float64(g.N()) * 4 * float64(m.net.stages[si-1].dim) * d
		}
		win := st.window
		nt := win[0] * win[1]
		windows := float64(((g.H + win[0] - 1) / win[0]) * ((g.W + win[1] - 1) / win[1]))
		rows := windows * float64(nt)
		for bi := range st.blocks {
			h := float64(st.blocks[bi].mlp.Hidden())
			f += 2*rows*d*4*d + 4*windows*float64(nt*nt)*d + 4*float64(g.N())*d*h
		}
	}
	if m.net.head.NumClasses() > 0 {
		f += 2 * float64(c.NumFeatures()*c.NumClasses)
	}
	return f
}
