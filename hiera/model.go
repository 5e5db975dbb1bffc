package hiera

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
	// layers (nn.Linears); the patch embedding, norms and attention stay
	// float32.
	Precision nn.Precision
	// Resample is how the global table is resampled to each grid; nil means
	// timm's rule (posenc.DefaultResampleOptions).
	Resample *posenc.ResampleOptions
}

// Model is a loaded Hiera, safe for concurrent use.
type Model struct {
	cfg       Config
	arch      string
	net       *net
	edge      nn.EdgePolicy // default: sizes must be whole PixelAlign; crop, pad: cut to or pad to them
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
	hint := fmt.Sprintf("crop or pad to multiples of %v pixels; by default, as timm, sizes must be such multiples", cfg.PixelAlign())
	if err := opts.CheckEdges("Hiera", hint, nn.EdgeCrop, nn.EdgePad); err != nil {
		return nil, err
	}
	if err := opts.Precision.Check(); err != nil {
		return nil, err
	}
	n, err := layers(cfg, src, opts)
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, net: n, edge: opts.Edge, maxTokens: opts.MaxTokens, input: opts.Input, pack: packTokens}
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
	c := &Model{cfg: m.cfg, arch: m.arch, net: m.net, edge: m.edge, maxTokens: m.maxTokens, input: m.input, pack: m.pack}
	c.start(m.run.Lifetime(), n)
	return c
}

// Config returns the architecture.
func (m *Model) Config() Config { return m.cfg }

// Close waits for forward passes in flight, then releases the weights.
func (m *Model) Close() error { return m.run.Close() }

// runSize is the image size the model runs for an h×w image: whole
// PixelAlign multiples, cut down (crop) or padded up with zeros (pad), or
// h×w itself (the default), with ok false when that is not whole
// multiples.
func (m *Model) runSize(h, w int) (size [2]int, ok bool) {
	a := m.cfg.PixelAlign()
	for i, v := range [2]int{h, w} {
		switch m.edge {
		case nn.EdgeCrop:
			size[i] = v / a[i] * a[i]
		case nn.EdgePad:
			size[i] = (v + a[i] - 1) / a[i] * a[i]
		default:
			size[i] = v
		}
	}
	return size, size[0] >= a[0] && size[1] >= a[1] && size[0]%a[0] == 0 && size[1]%a[1] == 0
}

// tokenGrid is the patch embedding's output grid for an h×w image (sizes
// it does not take give their convolution's grid).
func (m *Model) tokenGrid(h, w int) posenc.Grid {
	c := m.cfg
	s, _ := m.runSize(h, w)
	return posenc.Grid{H: nn.ConvOut(s[0], c.PatchKernel[0], c.PatchStride[0], c.PatchPad[0]),
		W: nn.ConvOut(s[1], c.PatchKernel[1], c.PatchStride[1], c.PatchPad[1])}
}

// shrink is how much the unrolls shrink the token grid by the last stage.
func (m *Model) shrink() [2]int {
	s := [2]int{1, 1}
	for i := 0; i < m.cfg.Unrolls(); i++ {
		s[0], s[1] = s[0]*m.cfg.QStride[0], s[1]*m.cfg.QStride[1]
	}
	return s
}

// Grid is the last stage's grid for an H×W image (the rows of
// Output.Tokens).
func (m *Model) Grid(h, w int) posenc.Grid {
	g, s := m.tokenGrid(h, w), m.shrink()
	return posenc.Grid{H: g.H / s[0], W: g.W / s[1]}
}

// Tokens is what an H×W image counts against MaxTokens: its token grid
// after the patch embedding.
func (m *Model) Tokens(h, w int) int { return m.tokenGrid(h, w).N() }

// MaxTokens is the cap on the tokens of one image.
func (m *Model) MaxTokens() int { return m.maxTokens }

// Threads is the number of workers of one forward pass.
func (m *Model) Threads() int { return m.run.Threads() }

// Info describes the model (nn.Net).
func (m *Model) Info() nn.Info {
	j, _ := m.cfg.JSON()
	s := m.shrink()
	return nn.Info{Family: "hiera", Architecture: m.arch, Width: m.net.blocks[len(m.net.blocks)-1].dim,
		Patch: [2]int{m.cfg.PatchStride[0] * s[0], m.cfg.PatchStride[1] * s[1]}, Channels: m.cfg.InChans,
		NumClasses: m.cfg.NumClasses, Config: j, Input: m.input}
}

// packTokens bounds the first-stage tokens of the images run in one packed
// pass, as in Twins: small images pack, large ones keep their buffers in
// cache.
const packTokens = 4096

// Forward runs one image.
func (m *Model) Forward(img nn.Image, out *nn.Output) error {
	return m.run.Forward(img, out, (*workspace).pass)
}

// ForwardBatch runs images of any sizes, consecutive images packed into
// one pass up to packTokens first-stage tokens; outs[i] is what
// Forward(imgs[i]) gives, bit for bit: each image's rows are tiled as when
// it runs alone.
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

// firstTokens is the size of an image's token grid, for packing (any
// image, even one prepare will refuse).
func (m *Model) firstTokens(img nn.Image) int {
	return m.tokenGrid(min(max(img.H, 0), nn.MaxSide), min(max(img.W, 0), nn.MaxSide)).N()
}

var _ nn.Net = (*Model)(nil)

func init() {
	nn.Register(nn.Family{Name: "hiera", Claims: claims, Load: loadFamily, WholeSides: true})
}

// claims: a timm hiera_* name, or Hiera's tensors.
func claims(arch string, ck nn.Checkpoint) int {
	if arch != "" {
		if strings.HasPrefix(arch, "hiera_") {
			return 2
		}
		return 0
	}
	if ck.Has("patch_embed.proj.weight") && ck.Has("pos_embed_win") && ck.Has("blocks.0.attn.qkv.weight") {
		return 1
	}
	return 0
}

func loadFamily(ck nn.Checkpoint, hub *nn.HubConfig, o nn.LoadOptions) (nn.Net, error) {
	cfg, err := InferConfig(ck, hub)
	if err != nil {
		return nil, err
	}
	if err := nn.CheckOwnPatch("Hiera", o.PatchSize, cfg.PatchStride); err != nil {
		return nil, err
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

// resample is the table's resampling: Resample, or timm's rule.
func (o options) resample() posenc.ResampleOptions {
	if o.Resample != nil {
		return *o.Resample
	}
	return posenc.DefaultResampleOptions()
}
