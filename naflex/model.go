package naflex

import (
	"io"
	"strings"

	"github.com/anyres/anyres/imageprep"

	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// options tune loading and running (the front door sets them from
// anyres.Options); the zero value is fine.
type options struct {
	nn.RunOptions
	// Resample replaces the table's resampling rule (nil: timm's, the
	// checkpoint's mode with antialias).
	Resample       *posenc.ResampleOptions
	AllowNonFinite bool
	// Ignore names tensors of the source that are not weights (nil: none).
	Ignore func(name string) bool
	// Precision is the number format of the block and head Linear layers
	// (nn.Linears); the patch embedding, norms and attention stay float32.
	Precision nn.Precision
}

// Model is a loaded NaFlexVit, safe for concurrent use.
type Model struct {
	*nn.Model
	cfg     Config
	arch    string
	scratch *nn.Pool[patchScratch] // ForwardPatches buffers, shared with WithThreads copies
}

// newModel builds a model from a config and its weights (timm state_dict
// names). A source that lists its tensors must hold no tensor the config
// does not use.
func newModel(cfg Config, src nn.Source, opts options) (*Model, error) {
	return build(cfg, src, opts, nil)
}

func build(cfg Config, src nn.Source, opts options, closer io.Closer) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := opts.Precision.Check(); err != nil {
		return nil, err
	}
	enc, err := encoder(cfg, src, opts)
	if err != nil {
		return nil, err
	}
	nm, err := nn.NewModel(enc, opts.RunOptions, closer)
	if err != nil {
		return nil, err
	}
	return &Model{Model: nm, cfg: cfg, scratch: new(nn.Pool[patchScratch])}, nil
}

// WithThreads returns a model that shares m's weights and lifetime but runs
// each forward pass on n workers (0: GOMAXPROCS).
func (m *Model) WithThreads(n int) nn.Net { return m.withThreads(n) }

func (m *Model) withThreads(n int) *Model {
	return &Model{Model: m.Model.WithThreads(n), cfg: m.cfg, arch: m.arch, scratch: m.scratch}
}

// Config returns the architecture.
func (m *Model) Config() Config { return m.cfg }

// Info describes the model (nn.Net).
func (m *Model) Info() nn.Info {
	j, _ := m.cfg.JSON()
	return m.Describe("naflex", m.arch, j)
}

var _ nn.Net = (*Model)(nil)

func init() {
	nn.Register(nn.Family{Name: "naflex", Claims: claims, Load: loadFamily, Budget: imageprep.BudgetNaFlex})
}

// claims: a timm naflexvit_* name, or NaFlexVit's tensors (a linear patch
// embedding and a grid-shaped table under embeds.).
func claims(arch string, ck nn.Checkpoint) int {
	if arch != "" {
		if strings.HasPrefix(arch, "naflexvit_") {
			return 2
		}
		return 0
	}
	if ck.Has("embeds.proj.weight") && ck.Has("blocks.0.attn.qkv.weight") {
		return 1
	}
	return 0
}

func loadFamily(ck nn.Checkpoint, hub *nn.HubConfig, o nn.LoadOptions) (nn.Net, error) {
	cfg, err := InferConfig(ck, hub)
	if err != nil {
		return nil, err
	}
	if err := nn.CheckOwnPatch("NaFlexVit", o.PatchSize, cfg.PatchSize); err != nil {
		return nil, err
	}
	m, err := build(cfg, ck, options{RunOptions: o.RunOptions, Resample: o.Resample, AllowNonFinite: o.AllowNonFinite, Ignore: o.Ignore, Precision: o.Precision}, o.Closer)
	if err != nil {
		return nil, err
	}
	if hub != nil {
		m.arch = hub.Architecture
	}
	return m, nil
}
