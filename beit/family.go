package beit

import (
	"fmt"
	"strings"

	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// ErrConfig and ErrWeight are package nn's: every family reports the same
// errors.
var (
	ErrConfig = nn.ErrConfig
	ErrWeight = nn.ErrWeight
)

func init() {
	nn.Register(nn.Family{Name: "beit", Claims: claims, Load: loadFamily, Transformers: hfClassList()})
}

// claims: timm's BEiT names (beit_*, beitv2_*), or, without a name, a
// checkpoint with BEiT's relative position bias tables.
func claims(arch string, ck nn.Checkpoint) int {
	if hfClaims(arch) {
		return 2
	}
	if arch != "" {
		if strings.HasPrefix(arch, "beit_") || strings.HasPrefix(arch, "beitv2_") {
			return 2
		}
		return 0
	}
	if ck.Has("patch_embed.proj.weight") && (ck.Has("blocks.0.attn.relative_position_bias_table") || ck.Has("rel_pos_bias.relative_position_bias_table")) {
		return 1
	}
	return 0
}

// Model is a loaded BEiT model (nn.Net), safe for concurrent use.
type Model struct {
	*nn.Model
	cfg Config
	hf  *nn.TransformersInfo // for a transformers checkpoint
}

// loadFamily builds a model from a checkpoint with timm's state_dict names and
// its hub config.json (hub may be nil), or in transformers' layout.
func loadFamily(ck nn.Checkpoint, hub *nn.HubConfig, o nn.LoadOptions) (nn.Net, error) {
	if hub != nil && hub.Transformers != nil {
		cfg, src, hf, err := fromTransformers(ck, hub.Transformers)
		if err != nil {
			return nil, err
		}
		if o.Resample == nil && cfg.AbsPosEmbed { // an absolute table: transformers' rule
			r := posenc.TransformersResample()
			o.Resample = &r
		}
		m, err := newModel(cfg, src, o)
		if err != nil {
			return nil, src.(*nn.Renamed).Explain(err)
		}
		m.hf = hf
		return m, nil
	}
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
	if err := nn.CheckOwnPatch("BEiT", o.PatchSize, cfg.PatchSize); err != nil {
		return nil, err
	}
	enc, err := encoder(cfg, src, o)
	if err != nil {
		return nil, err
	}
	m, err := nn.NewModel(enc, o.RunOptions, o.Closer)
	if err != nil {
		return nil, fmt.Errorf("beit: %w", err)
	}
	return &Model{Model: m, cfg: cfg}, nil
}

// Config returns the model's architecture.
func (m *Model) Config() Config { return m.cfg }

// WithThreads returns a model that shares m's weights and lifetime but
// runs each forward pass on n workers (0: GOMAXPROCS).
func (m *Model) WithThreads(n int) nn.Net {
	return &Model{Model: m.Model.WithThreads(n), cfg: m.cfg, hf: m.hf}
}

// Info describes the model (nn.Net).
func (m *Model) Info() nn.Info {
	j, _ := m.cfg.JSON()
	info := m.Describe("beit", m.cfg.Architecture, j)
	info.Transformers = m.hf
	return info
}

var _ nn.Net = (*Model)(nil)
