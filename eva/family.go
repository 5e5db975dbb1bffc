package eva

import (
	"fmt"
	"strings"

	"github.com/anyres/anyres/nn"
)

// ErrConfig and ErrWeight are package nn's: every family reports the same
// errors.
var (
	ErrConfig = nn.ErrConfig
	ErrWeight = nn.ErrWeight
)

func init() {
	nn.Register(nn.Family{Name: "eva", Claims: claims, Load: loadFamily})
}

// claims: timm's Eva names this package runs (eva02_*, the RoPE ViTs
// vit_*_rope_*, Perception Encoder vit_pe_*, DINOv3 vit_*_dinov3*), or, without a name, a checkpoint with RoPE-Mixed's
// learned frequencies.
func claims(arch string, ck nn.Checkpoint) int {
	if arch != "" {
		if strings.HasPrefix(arch, "eva02_") || (strings.HasPrefix(arch, "vit_") &&
			(strings.Contains(arch, "_rope_") || strings.HasPrefix(arch, "vit_pe_") || strings.Contains(arch, "_dinov3"))) {
			return 2
		}
		return 0
	}
	if ck.Has("rope.freqs") && ck.Has("patch_embed.proj.weight") {
		return 1
	}
	return 0
}

// Model is a loaded Eva model (nn.Net), safe for concurrent use.
type Model struct {
	*nn.Model
	cfg Config
}

// loadFamily builds a model from a checkpoint with timm's state_dict names and
// its hub config.json (hub may be nil for RoPE-Mixed checkpoints).
func loadFamily(ck nn.Checkpoint, hub *nn.HubConfig, o nn.LoadOptions) (nn.Net, error) {
	cfg, err := InferConfig(ck, hub)
	if err != nil {
		return nil, err
	}
	return newModel(cfg, ck, o)
}

// newModel builds a model from a config and its weights. A source that lists
// its tensors (nn.Lister) must hold no tensor the config does not use.
func newModel(cfg Config, src nn.Source, o nn.LoadOptions) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if err := o.Precision.Check(); err != nil {
		return nil, err
	}
	if err := nn.CheckOwnPatch("Eva", o.PatchSize, cfg.PatchSize); err != nil {
		return nil, err
	}
	enc, err := encoder(cfg, src, o)
	if err != nil {
		return nil, err
	}
	m, err := nn.NewModel(enc, o.RunOptions, o.Closer)
	if err != nil {
		return nil, fmt.Errorf("eva: %w", err)
	}
	return &Model{Model: m, cfg: cfg}, nil
}

// Config returns the model's architecture.
func (m *Model) Config() Config { return m.cfg }

// WithThreads returns a model that shares m's weights and lifetime but
// runs each forward pass on n workers (0: GOMAXPROCS).
func (m *Model) WithThreads(n int) nn.Net { return &Model{Model: m.Model.WithThreads(n), cfg: m.cfg} }

// Info describes the model (nn.Net).
func (m *Model) Info() nn.Info {
	j, _ := m.cfg.JSON()
	return m.Describe("eva", m.cfg.Architecture, j)
}

var _ nn.Net = (*Model)(nil)
