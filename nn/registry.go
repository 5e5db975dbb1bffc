package nn

import (
	"fmt"
	"io"
	"sort"

	"github.com/anyres/anyres/imageprep"

	"github.com/anyres/anyres/posenc"
)

// Checkpoint is a weight file as a family sees it when it decides whether
// it runs the file and with which facts: the tensors, their shapes, and
// the file's metadata.
type Checkpoint interface {
	Source
	Lister
	Shape(name string) ([]int, error)
	Metadata() map[string]string
}

// LoadOptions are the options every family takes.
type LoadOptions struct {
	RunOptions
	// PatchSize runs the model at another patch size (FlexiViT resize of
	// the patch kernel); zero keeps the checkpoint's.
	PatchSize [2]int
	// Resample is how stored position tables are resampled to each grid
	// (and, with PatchSize, the patch kernel); nil means the family's
	// reference rule.
	Resample *posenc.ResampleOptions
	// AllowNonFinite accepts NaN and ±Inf in the weights.
	AllowNonFinite bool
	// Precision is the number format of the Linear layers (f32, int8, bf16).
	Precision Precision
	// Ignore names tensors of the file that are not weights; nil: none.
	Ignore func(name string) bool
	// Closer is released by the model's Close once no forward pass runs
	// (the mapped file); nil for none.
	Closer io.Closer
}

// Net is a loaded model of any family.
type Net interface {
	// Forward runs one image; ForwardBatch runs images of any sizes together.
	Forward(img Image, out *Output) error
	ForwardBatch(imgs []Image, outs []Output) error
	// Grid is the grid of Output.Tokens rows for an H×W image (the patch
	// grid; for a pyramid such as Swin, its last stage).
	Grid(h, w int) posenc.Grid
	// Info describes the model.
	Info() Info
	// WithThreads returns a model that shares the weights and lifetime
	// (Close on either closes both) but runs each forward pass on n
	// workers (0: GOMAXPROCS). Results do not depend on it.
	WithThreads(n int) Net
	// Threads is the number of workers of one forward pass.
	Threads() int
	// Tokens is what an H×W image counts against MaxTokens, in the
	// family's own unit: a ViT's tokens (prefix and patches), the
	// first-stage patches of a pyramid such as Swin.
	Tokens(h, w int) int
	// MaxTokens is the cap on the Tokens of one forward pass (all images
	// packed together): RunOptions.MaxTokens, else the family's default.
	MaxTokens() int
	// FLOPs counts the floating-point operations (2 per multiply-add) of
	// one forward pass over an H×W image.
	FLOPs(h, w int) float64
	// Close waits for forward passes in flight and releases the weights.
	Close() error
}

// Info describes a loaded model.
type Info struct {
	Family       string // the registered family that runs it
	Architecture string // timm's model name, when known
	Width        int    // the width of the feature rows (Output.Tokens)
	Patch        [2]int // the patch size it runs at
	Channels     int
	Prefix       int // tokens before the patch (or feature) tokens in Output.Tokens
	NumClasses   int
	// Config is the family's resolved configuration as JSON (what the
	// `config` metadata of a rewritten checkpoint holds).
	Config []byte
	// Transformers, for a checkpoint in transformers' layout, maps the
	// Output fields to transformers' output names; nil otherwise.
	Transformers *TransformersInfo
	// Input is how to prepare an image for the model: its normalisation,
	// token-budget rule and (transformers) image processor.
	Input Input
}

// Family is a model family that the front door can load.
type Family struct {
	Name string
	// Claims reports how well the family fits a checkpoint: 0 for not at
	// all, higher for a more specific match. arch is timm's architecture
	// name (from config.json) or "".
	Claims func(arch string, ck Checkpoint) int
	// Load builds the model; hub may be nil.
	Load func(ck Checkpoint, hub *HubConfig, opts LoadOptions) (Net, error)
	// Transformers lists the Hugging Face transformers classes the family
	// runs from their own files (config.json with model_type); Claims then
	// gets the class (or, without architectures, the model_type) as arch.
	Transformers []string
	// Budget is the rule the family's models size an image by under a
	// token budget (Info.Input.Budget); the zero value is
	// imageprep.BudgetSize's.
	Budget imageprep.BudgetRule
	// WholeSides says the family's own edge rule (EdgeDefault) refuses an
	// image whose sides are not whole patches (Swin's patch, Hiera's mask
	// units: timm asserts it), so a caller that takes photos of any size
	// chooses EdgeCrop or EdgePad itself; the others crop or pad on their
	// own.
	WholeSides bool
}

var families []Family

// Register adds a family; families call it from init. A second family
// under a name already taken is a programming error: it panics at start-up
// rather than leave which of the two runs to registration order.
func Register(f Family) {
	for _, g := range families {
		if g.Name == f.Name {
			panic(fmt.Sprintf("nn: family %q registered twice", f.Name))
		}
	}
	families = append(families, f)
}

// Families lists the registered families by name.
func Families() []Family {
	out := append([]Family(nil), families...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Pick returns the family that claims a checkpoint most strongly.
func Pick(arch string, ck Checkpoint) (Family, bool) {
	best, score := Family{}, 0
	for _, f := range Families() {
		if s := f.Claims(arch, ck); s > score {
			best, score = f, s
		}
	}
	return best, score > 0
}
