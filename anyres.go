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
	"reflect"
	"sort"
	"strings"

	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/kernels"
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

// Model is a loaded model of any family; safe for concurrent use. Load
// returns one. Its methods are nn.Net's, listed here so that they show in
// go doc: every nn.Net is a Model and every Model an nn.Net (the method
// sets are the same, and the assertions beside it keep them so).
type Model interface {
	// Forward runs one image; ForwardBatch runs images of any sizes
	// together.
	Forward(img Image, out *Output) error
	ForwardBatch(imgs []Image, outs []Output) error
	// Grid is the grid of Output.Tokens rows for an H×W image (the patch
	// grid; for a pyramid such as Swin, its last stage).
	Grid(h, w int) posenc.Grid
	// Info describes the model: family, architecture, width, patch size,
	// channels, prefix tokens, classes, resolved config.
	Info() Info
	// WithThreads returns a model that shares the weights and lifetime
	// (Close on either closes both) but runs each forward pass on n
	// workers (0: GOMAXPROCS). Results do not depend on it. (The
	// package function WithThreads checks n and returns a Model.)
	WithThreads(n int) nn.Net
	// Threads is the number of workers of one forward pass.
	Threads() int
	// Tokens is what an H×W image counts against MaxTokens, in the
	// family's own unit: a ViT's tokens (prefix and patches), the
	// first-stage patches of a pyramid such as Swin.
	Tokens(h, w int) int
	// MaxTokens is the cap on the Tokens of one forward pass (all images
	// packed together): Options.MaxTokens, else the family's default.
	MaxTokens() int
	// FLOPs counts the floating-point operations (2 per multiply-add) of
	// one forward pass over an H×W image.
	FLOPs(h, w int) float64
	// Close waits for forward passes in flight and releases the weights.
	Close() error
}

// Model and nn.Net hold the same methods: each converts to the other.
var (
	_ nn.Net = Model(nil)
	_ Model  = nn.Net(nil)
)

// The types every family shares.
type (
	// Image is one normalised image in CHW layout (imageprep.Image, what
	// imageprep.Prepare returns).
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
	ErrNilOutput     = nn.ErrNilOutput
	ErrNoHead        = nn.ErrNoHead
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
	// ReduceRange, with DType "int8", quantizes the weights to 7 bits
	// (±64, ONNX Runtime's reduce_range) instead of 8: on CPUs whose int8
	// product has no dot-product instruction (AVX2, and AVX-512 without
	// VNNI) the products run about a fifth faster, for a coarser weight
	// grid (docs/quantization.md measures both). Results are the same at
	// every kernel level. A checkpoint quantized to 8 bits by anyres
	// quantize is refused with it.
	ReduceRange bool
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
	weights, configName := path, "Options.Config"
	var proc *imageprep.Processor
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if fi.IsDir() {
		weights = filepath.Join(path, "model.safetensors")
		if proc, err = readProcessor(path); err != nil {
			return nil, err
		}
		if opts.Config == nil {
			b, err := tensorfile.ReadFileLimit(filepath.Join(path, "config.json"), tensorfile.MaxConfigBytes, "config file")
			switch {
			case err == nil:
				opts.Config, configName = b, "config.json"
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
	m, err := load(f, opts, f, configName, proc)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f.DropResident() // the model runs its own copies; advice only, so its error changes nothing
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
	return load(f, opts, nil, "Options.Config", nil)
}

// load builds the model; configName names opts.Config's source in errors,
// proc is a folder's image processor (nil: none).
func load(f *tensorfile.File, opts Options, closer io.Closer, configName string, proc *imageprep.Processor) (Model, error) {
	if err := kernels.EnvErr(); err != nil {
		return nil, err // a bad ANYRES_KERNELS is refused, not run at another level
	}
	if opts.Threads < 0 {
		return nil, fmt.Errorf("%w: Threads %d: want 0 (all CPUs) or a positive count", ErrConfig, opts.Threads)
	}
	var hub *nn.HubConfig
	var ck nn.Checkpoint = f
	if opts.Config != nil {
		// Strictly: a config that cannot be read is an error naming the
		// field, never dropped for the tensors' guess.
		t, isHF, err := nn.ParseTransformers(opts.Config)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", configName, err)
		}
		h, err := nn.ReadHub(opts.Config)
		switch {
		case isHF:
			hub = nn.HubFromTransformers(t)
		case err != nil:
			return nil, fmt.Errorf("%s: %w", configName, err)
		case h != nil:
			hub = h
		default: // a JSON object naming no architecture: a family's own config
			ck = withConfig{f, map[string]string{"config": string(opts.Config)}}
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
	prec := nn.Precision{DType: opts.DType, KeepF32: opts.KeepF32, OnSmooth: opts.OnSmooth, Calibration: opts.Calibration, ReduceRange: opts.ReduceRange}
	if err := checkPrecision(prec); err != nil {
		return nil, err
	}
	if err := checkReduceRange(f, prec); err != nil {
		return nil, err
	}
	if err := checkKeepF32(ck, prec); err != nil {
		return nil, err
	}
	input, err := modelInput(fam, hub, opts.Config, proc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", configName, err)
	}
	m, err := fam.Load(ck, hub, nn.LoadOptions{
		RunOptions: nn.RunOptions{Threads: opts.Threads, MaxTokens: opts.MaxTokens, Edge: opts.Edge, Input: input},
		PatchSize:  opts.PatchSize, Resample: opts.Resample, AllowNonFinite: opts.AllowNonFinite,
		Ignore: opts.Ignore, Closer: closer, Precision: prec,
	})
	if err != nil {
		if hub != nil && errors.Is(err, ErrConfig) {
			// The config and the weights disagree: say which config.
			return nil, fmt.Errorf("%s: %w", configName, err)
		}
		return nil, err
	}
	err = agrees(hub, m.Info(), opts.PatchSize)
	if err == nil && hub == nil && opts.Config != nil {
		err = ownConfigAgrees(opts.Config, m.Info())
	}
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("%s: %w", configName, err)
	}
	return m, nil
}

// agrees checks the facts a hub config states that the loaded model also
// knows from its tensors: a config that says otherwise describes another
// model, and is refused rather than ignored.
func agrees(hub *nn.HubConfig, info Info, patch [2]int) error {
	if hub == nil {
		return nil
	}
	bad := func(field string, said any, got any) error {
		return fmt.Errorf("%w: %s %v, but the weights have %v", ErrConfig, field, said, got)
	}
	if hub.NumClasses != nil && *hub.NumClasses != info.NumClasses {
		return bad("num_classes", *hub.NumClasses, info.NumClasses)
	}
	if hub.NumFeatures != nil && *hub.NumFeatures != info.Width {
		return bad("num_features", *hub.NumFeatures, info.Width)
	}
	for _, a := range []struct {
		key string
		got int
	}{{"num_classes", info.NumClasses}, {"in_chans", info.Channels}} {
		if v, ok, err := hub.Int(a.key); err != nil {
			return err
		} else if ok && v != a.got {
			return bad("model_args."+a.key, v, a.got)
		}
	}
	if in := hub.Pretrained.InputSize; len(in) == 3 && in[0] != info.Channels {
		return bad("pretrained_cfg.input_size channels", in[0], info.Channels)
	}
	if m := hub.Pretrained.Mean; m != nil && len(m) != info.Channels {
		return bad("pretrained_cfg.mean and std (one per channel)", len(m), info.Channels)
	}
	if p, ok := nn.SizePair(hub.ModelArgs["patch_size"]); ok && patch == ([2]int{}) && p != info.Patch {
		return bad("model_args.patch_size", p, info.Patch)
	}
	// model_args that the resolved config also holds (timm's kwargs and
	// anyres's configs share names: embed_dim, depth, depths, num_heads,
	// reg_tokens, window_size, ...) must hold the same value: the tensors
	// decide, and a config that says otherwise describes another model.
	// img_size is left out: timm resamples the table to it on load, as
	// anyres does per grid at run time.
	var resolved map[string]any
	json.Unmarshal(info.Config, &resolved)
	for _, k := range sortedKeys(hub.ModelArgs) {
		got, ok := resolved[k]
		if !ok || k == "img_size" || k == "global_pool" || hub.ModelArgs[k] == nil {
			continue // (null is timm's None: the default, whatever it resolves to)
		}
		if !sameValue(hub.ModelArgs[k], got) {
			return fmt.Errorf("%w: model_args.%s %v, but the weights make a model with %v", ErrConfig, k, compactJSON(hub.ModelArgs[k]), compactJSON(got))
		}
	}
	// The pooling the model runs (its resolved config's global_pool; a
	// family without the setting runs timm's default, average pooling)
	// must be the one the config asks for: an attention-pool head, say,
	// is not dropped for global_pool "" without a word.
	if hub.GlobalPool != nil {
		var resolved struct {
			GlobalPool *string `json:"global_pool"`
		}
		json.Unmarshal(info.Config, &resolved)
		runs := "avg"
		if resolved.GlobalPool != nil {
			runs = *resolved.GlobalPool
		}
		if *hub.GlobalPool != runs {
			return fmt.Errorf("%w: global_pool %q, but the weights make a model that pools by %q", ErrConfig, *hub.GlobalPool, runs)
		}
	}
	return nil
}

// WithThreads returns a model sharing m's weights and lifetime that runs
// each forward pass on n workers (0: GOMAXPROCS): m.WithThreads(n). A
// negative count is an error.
func WithThreads(m Model, n int) (Model, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: %d threads: want 0 (all CPUs) or a positive count", ErrConfig, n)
	}
	return m.WithThreads(n), nil
}

// sameValue compares two decoded JSON values, a size given as one number
// equal to the [n, n] pair.
func sameValue(a, b any) bool {
	if pa, ok := nn.SizePair(a); ok {
		if pb, ok := nn.SizePair(b); ok {
			return pa == pb
		}
	}
	return reflect.DeepEqual(a, b)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// ownConfigAgrees checks a family's own config given as Options.Config
// against the config the model was built with: a family that does not
// read such a config (it infers its architecture from the tensors) must
// not drop a value it states without a word.
func ownConfigAgrees(given []byte, info Info) error {
	var want, got map[string]any
	if json.Unmarshal(given, &want) != nil || json.Unmarshal(info.Config, &got) != nil {
		return nil // ReadHub has vetted given; a family without a resolved config has nothing to compare
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if g, ok := got[k]; ok && !reflect.DeepEqual(want[k], g) {
			return fmt.Errorf("%w: %s %v, but the %s model built from these weights has %v (the config was not taken as given)", ErrConfig, k, want[k], info.Family, g)
		}
	}
	return nil
}

// withConfig is a checkpoint whose metadata is replaced by a given config.
type withConfig struct {
	*tensorfile.File
	meta map[string]string
}

func (w withConfig) Metadata() map[string]string { return w.meta }

// modelInput is what the model expects of its images (Info.Input): a
// transformers folder's image processor (preprocessor_config.json) and its
// normalisation, else config.json's mean and std (timm's pretrained_cfg, or
// top-level), else the default for the architecture; the family's
// token-budget rule.
func modelInput(fam nn.Family, hub *nn.HubConfig, config []byte, proc *imageprep.Processor) (nn.Input, error) {
	in := nn.Input{Budget: fam.Budget, Processor: proc}
	if proc != nil {
		in.Norm, in.NormFrom = proc.Norm, "preprocessor_config.json"
		return in, nil
	}
	if config != nil {
		n, ok, err := imageprep.NormFromConfig(config)
		if err != nil {
			return nn.Input{}, err
		}
		if ok {
			in.Norm, in.NormFrom = n, "config.json"
			return in, nil
		}
	}
	in.Norm, in.NormFrom = defaultNorm(hub), "default"
	return in, nil
}

// defaultNorm is the normalisation of a model whose files name none, by
// timm's conventions for the architecture (or transformers' model type):
// OpenAI CLIP's for CLIP towers and EVA-02, 0.5 for SigLIP and Perception
// Encoder towers, ImageNet's for the rest.
func defaultNorm(hub *nn.HubConfig) imageprep.Norm {
	name := ""
	if hub != nil {
		name = strings.ToLower(hub.Architecture)
		if hub.Transformers != nil {
			name += " " + strings.ToLower(hub.Transformers.ModelType)
		}
	}
	switch {
	case strings.Contains(name, "siglip"), strings.Contains(name, "_pe_"), strings.HasPrefix(name, "pe_"):
		return imageprep.Inception
	case strings.Contains(name, "clip"), strings.HasPrefix(name, "eva02"):
		return imageprep.CLIP
	}
	return imageprep.ImageNet
}

// readProcessor reads a folder's preprocessor_config.json (transformers'
// image processor); nil when there is none.
func readProcessor(dir string) (*imageprep.Processor, error) {
	path := filepath.Join(dir, "preprocessor_config.json")
	raw, err := tensorfile.ReadFileLimit(path, tensorfile.MaxConfigBytes, "preprocessor config")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := imageprep.ParseProcessor(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &p, nil
}
