package vit

import (
	"encoding/json"

	"strings"

	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// The timm architectures this package runs: VisionTransformer and its
// distilled variant (ViT, DeiT, DeiT-III, DINOv2, CLIP, SigLIP, FlexiViT).
var archPrefixes = []string{"vit_", "deit_", "deit3_", "flexivit_"}

// Names under those prefixes that timm builds with other classes (its Eva
// class: RoPE ViTs, Perception Encoder, DINOv3): not this family's.
var otherClasses = []string{"_rope", "vit_pe_", "dinov3"}

func init() {
	nn.Register(nn.Family{Name: "vit", Claims: claims, Load: loadFamily, Transformers: HFClasses()})
}

// claims: a timm name of the family (not those of timm's Eva class),
// anyres's own config metadata, or a plain ViT's tensors.
func claims(arch string, ck nn.Checkpoint) int {
	if hfClaims(arch) {
		return 2
	}
	if arch != "" {
		for _, o := range otherClasses {
			if strings.Contains(arch, o) {
				return 0
			}
		}
		for _, p := range archPrefixes {
			if strings.HasPrefix(arch, p) {
				return 2
			}
		}
		return 0
	}
	if ownConfig(ck) != nil {
		return 3
	}
	if ck.Has("patch_embed.proj.weight") && ck.Has("blocks.0.attn.qkv.weight") && !ck.Has("rope.freqs") &&
		!ck.Has("blocks.0.attn.relative_position_bias_table") && !ck.Has("blocks.0.gamma_1") {
		return 1
	}
	return 0
}

// ownConfig is the file's `config` metadata when it is anyres's vit form.
func ownConfig(ck nn.Checkpoint) []byte {
	raw, ok := ck.Metadata()["config"]
	if !ok {
		return nil
	}
	var probe struct {
		Family string `json:"family"`
		Depth  *int   `json:"depth"`
	}
	if json.Unmarshal([]byte(raw), &probe) != nil || probe.Depth == nil || (probe.Family != "" && probe.Family != "vit") {
		return nil
	}
	return []byte(raw)
}

// FlexiViT's own resampling rule: timm's FlexiViT filter resizes both the
// table and the patch kernel bilinearly, without antialias.
var flexiResample = posenc.ResampleOptions{Method: posenc.Bilinear}

func loadFamily(ck nn.Checkpoint, hub *nn.HubConfig, o nn.LoadOptions) (nn.Net, error) {
	var cfg Config
	var err error
	var hf *nn.TransformersInfo
	if hub != nil && hub.Transformers != nil {
		if cfg, ck, hf, err = fromTransformers(ck, hub.Transformers); err == nil && o.Resample == nil {
			r := posenc.TransformersResample()
			o.Resample = &r
		}
	} else if raw := ownConfig(ck); raw != nil && hub == nil {
		cfg, err = ParseConfig(raw)
	} else {
		cfg, err = InferConfig(ck, hub)
	}
	if err != nil {
		return nil, err
	}
	opts := Options{Threads: o.Threads, MaxTokens: o.MaxTokens, Edge: o.Edge, PatchSize: o.PatchSize,
		Resample: o.Resample, AllowNonFinite: o.AllowNonFinite, Ignore: o.Ignore, Precision: o.Precision, input: o.Input}
	if opts.Resample == nil && hub != nil && strings.HasPrefix(hub.Architecture, "flexivit") {
		r := flexiResample
		opts.Resample = &r
	}
	m, err := build(cfg, ck, opts, o.Closer)
	if r, ok := ck.(*nn.Renamed); ok {
		err = r.Explain(err)
	}
	if err != nil {
		return nil, err
	}
	if hub != nil {
		m.arch = hub.Architecture
	}
	m.hf = hf
	return m, nil
}

// Info describes the model (nn.Net).
func (m *Model) Info() nn.Info {
	j, _ := m.cfg.JSON()
	info := m.Describe("vit", m.arch, j)
	info.Transformers = m.hf
	return info
}

var _ nn.Net = (*Model)(nil)
