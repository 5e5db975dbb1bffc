package vit

import (
	"fmt"
	"io"

	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// DefaultMaxTokens is the token cap of a forward pass (all packed images
// together) when Options.MaxTokens is zero: 16384 tokens is a 2048² image
// at patch 16.
const DefaultMaxTokens = nn.DefaultMaxTokens

// The types a model takes and gives, shared by every family (package nn).
type (
	Image      = nn.Image
	Output     = nn.Output
	EdgePolicy = nn.EdgePolicy
	// TensorSource is where weights come from: a safetensors file, or a
	// MapSource built in code.
	TensorSource = nn.Source
	MapSource    = nn.MapSource
	Tensor       = nn.Tensor
)

// Edge policies (see nn.EdgePolicy).
const (
	EdgeDefault = nn.EdgeDefault
	EdgePad     = nn.EdgePad
	EdgeCrop    = nn.EdgeCrop
	EdgeResize  = nn.EdgeResize
)

// Options tune how a model runs. The zero value is fine.
type Options struct {
	// Threads is the number of workers of one forward pass; 0 means
	// GOMAXPROCS. Results do not depend on it.
	Threads int
	// MaxTokens caps the tokens of one forward pass; 0 means DefaultMaxTokens.
	MaxTokens int
	// Edge is the edge policy for sizes that are not whole patches.
	Edge EdgePolicy
	// input is what Info.Input reports (the front door's nn.LoadOptions).
	input nn.Input
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
	// AllowNonFinite accepts NaN and ±Inf in the weights (refused by default).
	AllowNonFinite bool
	// Ignore names tensors of the source that are not weights (nil: none);
	// every other tensor must be used by the architecture.
	Ignore func(name string) bool
	// Precision is the number format of the block and head Linear layers
	// (int8, bf16: see nn.Linears); the patch embedding, norms and attention
	// stay float32.
	Precision nn.Precision
}

// Model is a loaded ViT, safe for concurrent use.
type Model struct {
	*nn.Model
	cfg   Config
	patch [2]int // the patch size it runs at
	arch  string // timm's architecture name (or transformers' class), when known
	hf    *nn.TransformersInfo
}

// New builds a model from a config and its weights. A source that lists
// its tensors (nn.Lister) must hold no tensor the config does not use.
func New(cfg Config, src TensorSource, opts Options) (*Model, error) {
	return build(cfg, src, opts, nil)
}

// build makes the model; closer (may be nil) is released by Close.
func build(cfg Config, src TensorSource, opts Options, closer io.Closer) (*Model, error) {
	if cfg.InChans == 0 {
		cfg.InChans = 3
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	enc, patch, err := encoder(cfg, src, opts)
	if err != nil {
		return nil, err
	}
	nm, err := nn.NewModel(enc, nn.RunOptions{Threads: opts.Threads, MaxTokens: opts.MaxTokens, Edge: opts.Edge, Input: opts.input}, closer)
	if err != nil {
		return nil, fmt.Errorf("vit: %w", err)
	}
	return &Model{Model: nm, cfg: cfg, patch: patch}, nil
}

// WithThreads returns a model that shares m's weights and lifetime but runs
// each forward pass on n workers (0: GOMAXPROCS). Closing either closes
// both; forward passes after that return nn.ErrClosed.
func (m *Model) WithThreads(n int) nn.Net { return m.withThreads(n) }

func (m *Model) withThreads(n int) *Model {
	return &Model{Model: m.Model.WithThreads(n), cfg: m.cfg, patch: m.patch, arch: m.arch, hf: m.hf}
}

// Config returns the model's architecture.
func (m *Model) Config() Config { return m.cfg }

// PatchSize is the patch size the model runs at.
func (m *Model) PatchSize() [2]int { return m.patch }
