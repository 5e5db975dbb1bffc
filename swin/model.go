package swin

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/vit"
)

// DefaultMaxTokens is the cap on first-stage tokens (patches) of one
// forward pass when Options.MaxTokens is zero: a 2048² image at patch 4.
const DefaultMaxTokens = 1 << 18

// maxSide bounds image sides, so that no size computation can overflow.
const maxSide = 1 << 16

// Image is one image in CHW (planar) layout, already normalised: the same
// type as vit.Image.
type Image = vit.Image

// Options tune how a model runs. The zero value is fine.
type Options struct {
	// Config replaces the `config` metadata of the weight file.
	Config *Config
	// Threads is the number of workers of one forward pass; 0 means
	// GOMAXPROCS. Results do not depend on it.
	Threads int
	// MaxTokens caps the first-stage tokens (patches) of one image; 0 means
	// DefaultMaxTokens.
	MaxTokens int
}

// Model is a loaded Swin Transformer, safe for concurrent use.
type Model struct {
	cfg       Config
	w         *weights
	threads   int
	maxTokens int
	pool      sync.Pool // *workspace
	file      *tensorfile.File
	closed    atomic.Bool
}

// Output is one image's results. Its slices are reused by later calls that
// are given the same Output, so keep copies of what must survive.
type Output struct {
	// Features is timm's forward_features: the last stage's FeatH×FeatW
	// tokens of NumFeatures values (NHWC with N = 1), after the final norm.
	Features     []float32
	FeatH, FeatW int
	// Pooled is the mean of the feature tokens (forward_head(pre_logits=True));
	// empty without global pooling.
	Pooled []float32
	// Logits is timm's forward_head: NumClasses values; empty without a head.
	Logits []float32
}

// Load opens a safetensors checkpoint with timm state_dict names; the
// architecture comes from its `config` metadata unless opts.Config is set.
// Close releases the file.
func Load(path string, opts Options) (*Model, error) {
	f, err := tensorfile.Open(path)
	if err != nil {
		return nil, fmt.Errorf("swin: %w", err)
	}
	m, err := LoadFile(f, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	m.file = f
	return m, nil
}

// LoadFile builds a model from an open file, which must stay open while
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
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w, err := loadWeights(cfg, src)
	if err != nil {
		return nil, err
	}
	m := &Model{cfg: cfg, w: w, threads: opts.Threads, maxTokens: opts.MaxTokens}
	if m.threads <= 0 {
		m.threads = runtime.GOMAXPROCS(0)
	}
	m.threads = min(m.threads, 256)
	if m.maxTokens <= 0 {
		m.maxTokens = DefaultMaxTokens
	}
	m.pool.New = func() any { return new(workspace) }
	return m, nil
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

// FeatureSize returns the last stage's grid for an H×W image: the patch
// grid, halved (rounding up) at each patch merging.
func (m *Model) FeatureSize(h, w int) (int, int) {
	gh, gw := h/m.cfg.PatchSize[0], w/m.cfg.PatchSize[1]
	for range len(m.cfg.Depths) - 1 {
		gh, gw = (gh+1)/2, (gw+1)/2
	}
	return gh, gw
}

// checkImage reports why img cannot run, or nil.
func (m *Model) checkImage(img Image) error {
	c := m.cfg
	p := c.PatchSize
	switch {
	case img.C != c.InChans:
		return fmt.Errorf("%w: %d channels, the model takes %d", ErrImage, img.C, c.InChans)
	case img.H < p[0] || img.W < p[1] || img.H > maxSide || img.W > maxSide:
		return fmt.Errorf("%w: %d×%d: sides must be in %d..%d × %d..%d (at least one patch)", ErrImage, img.H, img.W, p[0], maxSide, p[1], maxSide)
	case img.H%p[0] != 0 || img.W%p[1] != 0:
		// timm's PatchEmbed (strict_img_size=False, no dynamic_img_pad)
		// asserts this too: there is no reference for other sizes.
		return fmt.Errorf("%w: %d×%d is not a multiple of the %d×%d patch", ErrImage, img.H, img.W, p[0], p[1])
	}
	if n := (img.H / p[0]) * (img.W / p[1]); n > m.maxTokens {
		return fmt.Errorf("%w: %d×%d makes %d patches, more than MaxTokens %d", ErrTooManyTokens, img.H, img.W, n, m.maxTokens)
	}
	if len(img.Pix) != img.C*img.H*img.W {
		return fmt.Errorf("%w: %d pixel values, want %d×%d×%d = %d", ErrImage, len(img.Pix), img.C, img.H, img.W, img.C*img.H*img.W)
	}
	return nil
}

// Forward runs one image.
func (m *Model) Forward(img Image, out *Output) error {
	if m.closed.Load() {
		return errors.New("swin: model is closed")
	}
	if err := m.checkImage(img); err != nil {
		return err
	}
	ws := m.pool.Get().(*workspace)
	defer m.pool.Put(ws)
	ws.m = m
	ws.forward(img, out)
	ws.m = nil
	return nil
}

// grow returns s resliced to n, reallocated when too short.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
