package swin

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/anyres/anyres/nn"
)

func init() {
	nn.Register(nn.Family{Name: "swin", Claims: claims, Load: loadFamily, Transformers: hfClassList(), WholeSides: true})
}

// claims: a timm name of the family (swin_*, swinv2_*; not swinv2_cr_*,
// another class with other tensor names), anyres's own config metadata
// with family "swin", or Swin's tensors.
func claims(arch string, ck nn.Checkpoint) int {
	if hfClaims(arch) {
		return 2
	}
	if arch != "" {
		if (strings.HasPrefix(arch, "swin_") || strings.HasPrefix(arch, "swinv2_")) && !strings.HasPrefix(arch, "swinv2_cr_") {
			return 2
		}
		return 0
	}
	if ownConfig(ck) != nil {
		return 3
	}
	if ck.Has("patch_embed.proj.weight") && ck.Has("layers.0.blocks.0.attn.qkv.weight") {
		return 1
	}
	return 0
}

// ownConfig is the file's `config` metadata when it is anyres's swin form
// (family "swin").
func ownConfig(f interface{ Metadata() map[string]string }) []byte {
	raw, ok := f.Metadata()["config"]
	if !ok {
		return nil
	}
	var probe struct {
		Family string `json:"family"`
	}
	if json.Unmarshal([]byte(raw), &probe) != nil || probe.Family != "swin" {
		return nil
	}
	return []byte(raw)
}

func loadFamily(ck nn.Checkpoint, hub *nn.HubConfig, o nn.LoadOptions) (nn.Net, error) {
	var cfg Config
	var err error
	var hf *nn.TransformersInfo
	if hub != nil && hub.Transformers != nil {
		// transformers pads the image to whole patches.
		if cfg, ck, hf, err = fromTransformers(ck, hub.Transformers); o.Edge == nn.EdgeDefault {
			o.Edge = nn.EdgePad
		}
	} else if raw := ownConfig(ck); raw != nil && hub == nil {
		cfg, err = ParseConfig(raw)
	} else {
		cfg, err = InferConfig(ck, hub)
	}
	if err != nil {
		return nil, err
	}
	if o.Resample != nil {
		// Options are acted on or refused, never ignored.
		return nil, fmt.Errorf("%w: Swin has no learned position table to resample (its relative position bias is per window)", ErrConfig)
	}
	if err := nn.CheckOwnPatch("Swin", o.PatchSize, cfg.PatchSize); err != nil {
		return nil, err
	}
	m, err := build(cfg, ck, options{Threads: o.Threads, MaxTokens: o.MaxTokens, Edge: o.Edge,
		AllowNonFinite: o.AllowNonFinite, Ignore: o.Ignore, Precision: o.Precision}, o.Closer)
	if r, ok := ck.(*nn.Renamed); ok {
		err = r.Explain(err)
	}
	if err != nil {
		return nil, err
	}
	if hub != nil {
		m.arch = hub.Architecture
	}
	m.hf, m.input = hf, o.Input
	return m, nil
}
