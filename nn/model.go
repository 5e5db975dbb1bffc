package nn

import (
	"errors"
	"fmt"
	"io"

	"github.com/anyres/anyres/posenc"
)

// DefaultMaxTokens is the token cap of a forward pass (all packed images
// together) when RunOptions.MaxTokens is zero: 16384 patches, a 2048²
// image at patch 16 without its class token. That image (16 385 tokens)
// and larger ones need the cap raised explicitly: memory grows linearly
// with the tokens, but time grows with their square.
const DefaultMaxTokens = 16384

// RunOptions tune how a model runs. The zero value is fine.
type RunOptions struct {
	// Threads is the number of workers of one forward pass; 0 means
	// GOMAXPROCS. Results do not depend on it.
	Threads int
	// MaxTokens caps the tokens of one forward pass (the Net's Tokens);
	// 0 means the family's default (DefaultMaxTokens; Swin's is larger, as
	// it counts first-stage patches).
	MaxTokens int
	// Edge overrides the encoder's edge policy; EdgeDefault keeps it.
	Edge EdgePolicy
	// Input is what the model expects of its images, reported in
	// Info.Input (the front door fills it; it does not change the
	// forward pass).
	Input Input
}

// Output is one image's results. Its slices are reused by later calls that
// are given the same Output, so keep copies of what must survive.
type Output struct {
	Grid   posenc.Grid // the patch grid
	Prefix int         // class, distillation and register tokens before the patch tokens
	// Tokens is timm's forward_features: (Prefix + Grid.N()) rows of
	// the model width, after the final norm.
	Tokens []float32
	// Pooled is the pooled feature (class token, mean of patch tokens or
	// attention pool, after fc_norm): timm's forward_head(pre_logits=True).
	// Empty when the model has no pooling.
	Pooled []float32
	// Logits is timm's forward_head: one value per class; empty without a head.
	Logits []float32
	// HeadOnly is the one field the caller sets: Forward then fills
	// Pooled and Logits and leaves Tokens empty. Where the head reads only
	// the leading token(s) (class-token pooling), the last block runs on
	// those rows alone, with the same results; other heads still need
	// every row. A model with no pooled feature and no logits refuses it
	// (ErrNoHead).
	HeadOnly bool
}

// Model runs an Encoder on packed images; it is safe for concurrent use.
type Model struct {
	enc       *Encoder
	maxTokens int
	edge      EdgePolicy
	input     Input
	run       *Runner[workspace]
}

// NewModel checks the encoder and readies it to run. closer (may be nil)
// is what Close releases once no forward pass uses the model: the mapped
// weight file.
func NewModel(enc *Encoder, opts RunOptions, closer io.Closer) (*Model, error) {
	if err := enc.Check(); err != nil {
		return nil, err
	}
	if err := opts.Check(); err != nil {
		return nil, err
	}
	m := &Model{enc: enc, maxTokens: opts.MaxTokens, edge: opts.Edge, input: opts.Input}
	if m.maxTokens == 0 {
		m.maxTokens = DefaultMaxTokens
	}
	if m.edge == EdgeDefault {
		m.edge = enc.Edge
	}
	if m.edge == EdgeDefault {
		m.edge = EdgeCrop
	}
	m.start(NewLifetime(closer), opts.Threads)
	return m, nil
}

// Encoder returns the parts the model runs.
func (m *Model) Encoder() *Encoder { return m.enc }

// Threads is the number of workers of one forward pass.
func (m *Model) Threads() int { return m.run.Threads() }

// Edge is the edge policy in force.
func (m *Model) Edge() EdgePolicy { return m.edge }

// MaxTokens is the token cap of one forward pass.
func (m *Model) MaxTokens() int { return m.maxTokens }

// WithThreads returns a model that shares m's weights and lifetime but runs
// each forward pass on n workers (0: GOMAXPROCS). Closing either closes
// both; a forward pass on either after that returns ErrClosed.
func (m *Model) WithThreads(n int) *Model {
	c := &Model{enc: m.enc, maxTokens: m.maxTokens, edge: m.edge, input: m.input}
	c.start(m.run.Lifetime(), n)
	return c
}

// start makes the runner: the workers and the workspace pool.
func (m *Model) start(life *Lifetime, threads int) {
	m.run = NewRunner(life, threads, func() *workspace { return newWorkspace(m) })
}

// Close waits for forward passes in flight, then releases the weights.
// Later forward passes (on m or any WithThreads copy) return ErrClosed.
func (m *Model) Close() error { return m.run.Close() }

// Grid returns the patch grid an H×W image gets under the model's edge policy.
func (m *Model) Grid(h, w int) posenc.Grid { return GridFor(h, w, m.enc.Patch.Size, m.edge) }

// Forward runs one image.
func (m *Model) Forward(img Image, out *Output) error {
	return m.run.Forward(img, out, (*workspace).pass)
}

// ForwardBatch runs images of any sizes together as one packed sequence
// (NaViT): every token-wise step runs on all of them at once, attention
// stays within each image, and outs[i] is what Forward(imgs[i]) gives.
func (m *Model) ForwardBatch(imgs []Image, outs []Output) error {
	return m.run.ForwardBatch(imgs, outs, (*workspace).pass)
}

// pass is one forward pass over packed images (a RunFunc).
func (ws *workspace) pass(imgs []Image, outs []Output) error {
	if err := ws.pack(imgs, outs); err != nil {
		return err
	}
	if err := ws.forward(); err != nil {
		return err
	}
	ws.outputs(outs)
	return nil
}

// pack lays the images out one after another in the sequence, checking
// each and the total token count before any buffer is sized; outs (nil:
// every output whole) say which rows the last block must compute.
func (ws *workspace) pack(imgs []Image, outs []Output) error {
	m := ws.m
	e := m.enc
	if len(imgs) == 0 {
		return errors.New("no images")
	}
	ws.segs = ws.segs[:0]
	ws.tokens = 0
	for i, img := range imgs {
		if err := CheckImage(img, e.Patch.Channels, e.Patch.Size); err != nil {
			if len(imgs) > 1 {
				return fmt.Errorf("image %d: %w", i, err)
			}
			return err
		}
		g := GridFor(img.H, img.W, e.Patch.Size, m.edge)
		n := e.PrefixN + g.N()
		if ws.tokens+n > m.maxTokens {
			return fmt.Errorf("%w: %d tokens (with image %d at %d×%d, grid %s) exceed the cap of %d (raise it with the MaxTokens option)",
				ErrTooManyTokens, ws.tokens+n, i, img.H, img.W, g, m.maxTokens)
		}
		ws.segs = append(ws.segs, segment{img: img, grid: g, off: ws.tokens, n: n, keep: n, at: ws.tokens})
		ws.tokens += n
	}
	if err := ws.trim(outs); err != nil {
		return err
	}
	if m.edge == EdgeResize {
		ws.resizeImages()
	}
	ws.size()
	return nil
}

// trim marks the segments whose outputs asked for the head alone and whose
// head reads only the leading tokens: the last block computes those rows
// alone (every row's keys and values still come from the block before).
func (ws *workspace) trim(outs []Output) error {
	h := &ws.m.enc.Head
	for i := range outs {
		if !outs[i].HeadOnly {
			continue
		}
		if h.Pool == PoolNone {
			return ErrNoHead
		}
		if s := &ws.segs[i]; h.Pool == PoolToken && h.tokens() < s.n {
			s.keep = h.tokens()
		}
	}
	return nil
}

// WorkspaceBytes is the memory of the workspace of one forward pass over
// images of these sizes packed together (one image: one size), resize
// copies under EdgeResize aside.
func (m *Model) WorkspaceBytes(sizes ...[2]int) int {
	ws := &workspace{m: m}
	for _, s := range sizes {
		g := m.Grid(s[0], s[1])
		n := m.enc.PrefixN + g.N()
		ws.segs = append(ws.segs, segment{grid: g, off: ws.tokens, n: n})
		ws.tokens += n
	}
	ws.rowTile = m.enc.rowTiles(ws.tokens, m.Threads()).widest()
	l := ws.lens()
	return 4 * (l.x + l.qkv + l.ao + l.head + m.Threads()*(l.ln+l.hid+l.col+l.scores+l.bias))
}

// Tokens is the rows an H×W image adds to a forward pass (prefix and
// patches under the edge policy): what MaxTokens caps.
func (m *Model) Tokens(h, w int) int { return m.enc.PrefixN + m.Grid(h, w).N() }

// FLOPs counts the floating-point operations (2 per multiply-add) of one
// forward pass over an H×W image.
func (m *Model) FLOPs(h, w int) float64 { return m.enc.FLOPs(m.Grid(h, w)) }

// Describe is the Info of an encoder model: the family's name, timm's
// architecture name and the family's resolved config as JSON, with the
// widths, patch size, prefix and classes read from the encoder.
func (m *Model) Describe(family, arch string, config []byte) Info {
	e := m.enc
	return Info{Family: family, Architecture: arch, Width: e.Dim, Patch: e.Patch.Size, Channels: e.Patch.Channels,
		Prefix: e.PrefixN, NumClasses: e.Head.NumClasses(), Config: config, Input: m.input}
}
