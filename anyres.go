// Package anyres is the front door: Load reads any checkpoint anyres runs
// (a safetensors file, a hub folder with model.safetensors and timm's
// config.json, or a Hugging Face transformers folder, whose config.json
// has a model_type), picks the model family from the architecture name or
// transformers class (or the file's metadata, or its tensors), and returns
// a Model that runs images of any size, one at a time or packed together.
//
//	m, err := anyres.Load("vit_small_patch14_dinov2", anyres.Options{})
//	defer m.Close()
//	var out anyres.Output
//	err = m.Forward(anyres.Image{C: 3, H: 518, W: 392, Pix: pix}, &out)
//	// out.Grid, out.Tokens (forward_features), out.Pooled, out.Logits
//
// The families register themselves (package nn's registry); this package
// imports every one that the module holds.
package anyres

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"

	// The families.
	_ "github.com/anyres/anyres/beit"
	_ "github.com/anyres/anyres/eva"
	_ "github.com/anyres/anyres/hiera"
	_ "github.com/anyres/anyres/naflex"
	_ "github.com/anyres/anyres/sam"
	_ "github.com/anyres/anyres/swin"
	_ "github.com/anyres/anyres/twins"
	_ "github.com/anyres/anyres/vit"
)

// The types every family shares.
type (
	// Model is a loaded model of any family; safe for concurrent use.
	Model = nn.Net
	// Image is one normalised image in CHW layout.
	Image = nn.Image
	// Output is one image's features, pooled feature, logits and grid.
	Output = nn.Output
	// Info describes a loaded model.
	Info = nn.Info
	// EdgePolicy says what happens to pixels past the last whole patch.
	EdgePolicy = nn.EdgePolicy
)

// Errors to test for with errors.Is.
var (
	ErrImage         = nn.ErrImage
	ErrTooManyTokens = nn.ErrTooManyTokens
	ErrWeight        = nn.ErrWeight
	ErrConfig        = nn.ErrConfig
	ErrClosed        = nn.ErrClosed
	// ErrUnknownModel: no family runs the checkpoint.
	ErrUnknownModel = errors.New("no model family runs this checkpoint")
)

// Options tune loading and running. The zero value is fine.
type Options struct {
	// Config is timm's (or transformers') config.json for a bare
	// safetensors file (a hub folder's own config.json is read without
	// it), or a family's own resolved config (what a checkpoint's `config`
	// metadata holds), which then replaces the file's metadata.
	Config []byte
	// Threads is the number of workers of one forward pass; 0 means
	// GOMAXPROCS. Results do not depend on it.
	Threads int
	// MaxTokens caps what Model.Tokens counts for one forward pass, in
	// the family's unit: a ViT's tokens (all packed images), the
	// first-stage patches of Swin or Twins. 0 means the family's default,
	// Model.MaxTokens (nn.DefaultMaxTokens, a 2048² image at patch 16, for
	// most; swin.DefaultMaxTokens, a 2048² image at patch 4, for Swin).
	// Raise it explicitly for larger images.
	MaxTokens int
	// Edge overrides the family's edge policy.
	Edge EdgePolicy
	// PatchSize runs the model at another patch size (FlexiViT); zero
	// keeps the checkpoint's.
	PatchSize [2]int
	// Resample is how stored position tables are resampled; nil means the
	// family's reference rule (timm's; for a transformers checkpoint
	// transformers ≥ 4.45's, posenc.TransformersResample).
	Resample *posenc.ResampleOptions
	// AllowNonFinite accepts NaN and ±Inf in the weights (refused by default).
	AllowNonFinite bool
	// ReadFile reads the weight file into memory instead of mapping it.
	// A mapped file that is truncated or rewritten in place while the
	// model runs (what `cp` over it does) kills the process with SIGBUS;
	// a read one is immune, at the cost of the file's size in memory.
	ReadFile bool
	// Ignore names tensors of the file that are not weights (nil: none).
	// Every other tensor must be used by the architecture.
	Ignore func(name string) bool
	// DType is the number format of the block and head Linear layers
	// (and Swin's patch merging), in every family: "f32" (or ""), "int8"
	// (dynamic int8 quantization: a quarter of the weight memory;
	// kernels.GemmQuant) or "bf16" (bfloat16 weights: half;
	// kernels.GemmBF16); attention, norms and convolutions stay float32
	// (docs/quantization.md lists each family's layers). KeepF32 names
	// layers (timm prefixes such as "blocks.11.mlp.fc2" or "head") kept
	// float32.
	DType   string
	KeepF32 []string
	// OnSmooth is nn.Precision.OnSmooth: told how an int8 model rewrote
	// each LayerNorm and the layers after it (`anyres quantize` uses it).
	OnSmooth func(norm string, factors []float64, layers []string)
	// Calibration is nn.Precision.Calibration: load in float32 and run
	// images to measure what an int8 load folds (`anyres quantize
	// -calibrate` uses it).
	Calibration *nn.Calibration
}

// Families lists the registered model families.
func Families() []string {
	var names []string
	for _, f := range nn.Families() {
		names = append(names, f.Name)
	}
	return names
}

// Load opens a checkpoint: a .safetensors file, or a folder holding
// model.safetensors and (optionally) timm's or transformers' config.json.
// Close releases it.
func Load(path string, opts Options) (Model, error) {
	weights := path
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if fi.IsDir() {
		weights = filepath.Join(path, "model.safetensors")
		if opts.Config == nil {
			b, err := os.ReadFile(filepath.Join(path, "config.json"))
			switch {
			case err == nil:
				opts.Config = b
			case !errors.Is(err, os.ErrNotExist):
				return nil, err
			}
		}
	}
	var f *tensorfile.File
	var err error
	if opts.ReadFile {
		f, err = tensorfile.OpenRead(weights)
	} else {
		f, err = tensorfile.Open(weights)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", weights, err)
	}
	m, err := load(f, opts, f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// LoadBytes builds a model from a safetensors file held in memory (e.g.
// embedded with go:embed); data must not change while the model is used.
// opts.Config is timm's config.json, if the file needs one.
func LoadBytes(data []byte, opts Options) (Model, error) {
	f, err := tensorfile.Parse(data)
	if err != nil {
		return nil, err
	}
	return load(f, opts, nil)
}

func load(f *tensorfile.File, opts Options, closer io.Closer) (Model, error) {
	var hub *nn.HubConfig
	var ck nn.Checkpoint = f
	if opts.Config != nil {
		t, isHF, err := nn.ParseTransformers(opts.Config)
		if err != nil {
			return nil, err
		}
		if h, ok := nn.ParseHub(opts.Config); ok {
			hub = h
		} else if isHF {
			hub = nn.HubFromTransformers(t)
		} else if json.Valid(opts.Config) {
			ck = withConfig{f, map[string]string{"config": string(opts.Config)}}
		} else {
			return nil, fmt.Errorf("%w: the config is not JSON", ErrConfig)
		}
	}
	arch := ""
	if hub != nil {
		arch = hub.Architecture
	}
	if hub != nil && hub.Transformers != nil && arch == "" {
		arch = hub.Transformers.ModelType // a config.json without architectures
	}
	fam, ok := nn.Pick(arch, ck)
	if !ok {
		if hub != nil && hub.Transformers != nil {
			return nil, fmt.Errorf("%w: config.json model_type %q, architectures %q: anyres runs the transformers classes %v",
				ErrUnknownModel, hub.Transformers.ModelType, hub.Transformers.Class, nn.TransformersClasses())
		}
		if arch != "" {
			return nil, fmt.Errorf("%w: architecture %q (families: %v)", ErrUnknownModel, arch, Families())
		}
		return nil, fmt.Errorf("%w: no config.json, no anyres config metadata, and tensors of no known family (families: %v)", ErrUnknownModel, Families())
	}
	prec := nn.Precision{DType: opts.DType, KeepF32: opts.KeepF32, OnSmooth: opts.OnSmooth, Calibration: opts.Calibration}
	if err := checkPrecision(fam, prec); err != nil {
		return nil, err
	}
	return fam.Load(ck, hub, nn.LoadOptions{
		RunOptions: nn.RunOptions{Threads: opts.Threads, MaxTokens: opts.MaxTokens, Edge: opts.Edge},
		PatchSize:  opts.PatchSize, Resample: opts.Resample, AllowNonFinite: opts.AllowNonFinite,
		Ignore: opts.Ignore, Closer: closer, Precision: prec,
	})
}

// WithThreads returns a model sharing m's weights and lifetime that runs
// each forward pass on n workers (0: GOMAXPROCS): m.WithThreads(n). The
// error is always nil; it stays for callers written when some families
// could not change their thread count.
func WithThreads(m Model, n int) (Model, error) { return m.WithThreads(n), nil }

// withConfig is a checkpoint whose metadata is replaced by a given config.
type withConfig struct {
	*tensorfile.File
	meta map[string]string
}

func (w withConfig) Metadata() map[string]string { return w.meta }
