package sam

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
	// layers (nn.Linears); the patch embedding, the neck, norms and
	// attention stay float32.
	Precision nn.Precision
	// Resample is how the position table is resampled to each grid; nil means
	// timm's rule (posenc.DefaultResampleOptions).
	Resample *posenc.ResampleOptions
}

// Model is a loaded SAM image encoder, safe for concurrent use.
type Model struct {
	cfg       Config
	arch      string
	w         *weights
	edge      nn.EdgePolicy
	maxTokens int
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
	if err := opts.CheckEdges("SAM", "crop, as its strided patch convolution does, or pad", nn.EdgeCrop, nn.EdgePad); err != nil {
		return nil, err
	}
	if err := opts.Precision.Check(); err != nil {
		return nil, err
	}
	w, err := layers(cfg, src, opts)
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, w: w, edge: opts.Edge, maxTokens: opts.MaxTokens, input: opts.Input}
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
	c := &Model{cfg: m.cfg, arch: m.arch, w: m.w, edge: m.edge, maxTokens: m.maxTokens, input: m.input}
	c.start(m.run.Lifetime(), n)
	return c
}

// Config returns the architecture.
func (m *Model) Config() Config { return m.cfg }

// Close waits for forward passes in flight, then releases the weights.
func (m *Model) Close() error { return m.run.Close() }

// Grid is the patch grid of an H×W image: the rows of Output.Tokens (the
// neck keeps the grid).
func (m *Model) Grid(h, w int) posenc.Grid {
	return nn.GridFor(h, w, [2]int{m.cfg.Patch, m.cfg.Patch}, m.edge)
}

// Tokens is what an H×W image counts against MaxTokens: its patches.
func (m *Model) Tokens(h, w int) int { return m.Grid(h, w).N() }

// MaxTokens is the cap on the patches of one image.
func (m *Model) MaxTokens() int { return m.maxTokens }

// Threads is the number of workers of one forward pass.
func (m *Model) Threads() int { return m.run.Threads() }

// Info describes the model (nn.Net).
func (m *Model) Info() nn.Info {
	j, _ := m.cfg.JSON()
	return nn.Info{Family: "sam", Architecture: m.arch, Width: m.cfg.OutDim(), Patch: [2]int{m.cfg.Patch, m.cfg.Patch},
		Channels: m.cfg.InChans, NumClasses: m.cfg.NumClasses, Config: j, Input: m.input}
}

// Forward runs one image.
func (m *Model) Forward(img nn.Image, out *nn.Output) error {
	return m.run.Forward(img, out, (*workspace).pass)
}

// ForwardBatch runs images of any sizes; outs[i] is what Forward(imgs[i])
// gives. The images run one after another: each has its own windows and
// global attention, and every phase already keeps the workers busy on
// one image.
func (m *Model) ForwardBatch(imgs []nn.Image, outs []nn.Output) error {
	return m.run.ForwardBatch(imgs, outs, (*workspace).pass)
}

// pass runs the images one after another (an nn.RunFunc).
func (ws *workspace) pass(imgs []nn.Image, outs []nn.Output) error {
	for i := range imgs {
		err := ws.prepare(imgs[i])
		if err == nil {
			err = ws.forward()
		}
		if err != nil {
			if len(imgs) > 1 {
				return fmt.Errorf("image %d: %w", i, err)
			}
			return err
		}
		ws.output(&outs[i])
	}
	return nil
}

var _ nn.Net = (*Model)(nil)

func init() {
	nn.Register(nn.Family{Name: "sam", Claims: claims, Load: loadFamily})
}

// claims: a timm samvit_* name, or SAM's tensors (decomposed relative
// position tables, or a neck).
func claims(arch string, ck nn.Checkpoint) int {
	if arch != "" {
		if strings.HasPrefix(arch, "samvit_") {
			return 2
		}
		return 0
	}
	if ck.Has("patch_embed.proj.weight") && ck.Has("blocks.0.attn.qkv.weight") &&
		(ck.Has("blocks.0.attn.rel_pos_h") || ck.Has("neck.0.weight")) {
		return 2 // above vit's tensor claim, which these tensors also meet
	}
	return 0
}

func loadFamily(ck nn.Checkpoint, hub *nn.HubConfig, o nn.LoadOptions) (nn.Net, error) {
	cfg, err := InferConfig(ck, hub)
	if err != nil {
		return nil, err
	}
	if err := nn.CheckOwnPatch("SAM", o.PatchSize, [2]int{cfg.Patch, cfg.Patch}); err != nil {
		return nil, err
	}
	if o.Resample != nil && cfg.PosGrid == ([2]int{}) {
		// Options are acted on or refused, never ignored.
		return nil, fmt.Errorf("%w: this SAM encoder has no learned position table to resample", nn.ErrConfig)
	}
	m, err := build(cfg, ck, options{RunOptions: o.RunOptions, AllowNonFinite: o.AllowNonFinite, Ignore: o.Ignore, Precision: o.Precision, Resample: o.Resample}, o.Closer)
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
// forward pass over an H×W image: patch embedding, every block's GEMMs,
// attention and relative-position products, the neck and the head. A size
// too small to run counts nothing.
func (m *Model) FLOPs(h, w int) float64 {
	c := m.cfg
	var f float64
	g := m.Grid(h, w)
	if g.N() == 0 {
		return 0
	}
	n, d, nc := float64(g.N()), float64(c.Dim), float64(c.NeckChans)
	f += 2 * n * float64(c.InChans*c.Patch*c.Patch) * d
	for b := 0; b < c.Depth; b++ {
		f += 2*n*d*4*d + 4*n*d*float64(c.MLPHidden)
		keys, side := n, float64(g.H+g.W)
		if !c.IsGlobal(b) {
			wn := posenc.Grid{H: (g.H + c.Window - 1) / c.Window, W: (g.W + c.Window - 1) / c.Window}.N()
			keys, side = float64(c.Window*c.Window), float64(2*c.Window)
			n = float64(wn * c.Window * c.Window) // padded rows attend too
		}
		f += 4 * n * keys * d
		if c.RelPos {
			f += 2 * n * side * d
		}
		n = float64(g.N())
	}
	f += 2*n*d*nc + 2*n*9*nc*nc
	f += 2 * float64(c.OutDim()*c.NumClasses)
	return f
}

// resample is the table's resampling: Resample, or timm's rule.
func (o options) resample() posenc.ResampleOptions {
	if o.Resample != nil {
		return *o.Resample
	}
	return posenc.DefaultResampleOptions()
}
