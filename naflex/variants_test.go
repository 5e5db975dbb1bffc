package naflex

import (
	"reflect"
	"testing"

	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/nn"
)

// mapCheckpoint serves a MapSource as a checkpoint (shapes, no metadata).
type mapCheckpoint struct{ nn.MapSource }

func (c mapCheckpoint) Shape(name string) ([]int, error) {
	_, s, err := c.Float32(name)
	return s, err
}

func (mapCheckpoint) Metadata() map[string]string { return nil }

// TestVariants: timm's other NaFlexVit layouts (register and class tokens,
// LayerScale, average pooling with fc_norm, the aspect-preserving table)
// are read back from their tensors and name, and a padded batch gives what
// the images give alone, prefix rows included.
func TestVariants(t *testing.T) {
	for _, v := range []struct {
		arch string
		cfg  Config
	}{
		{"naflexvit_base_patch16_par_gap", Config{PatchSize: [2]int{16, 16}, InChans: 3, EmbedDim: 48, Depth: 2, NumHeads: 3, MLPHidden: 96,
			QKVBias: true, RegTokens: 4, PosGrid: [2]int{6, 6}, PosSquare: true, PosInterp: "bicubic", FCNorm: true, LayerScale: true,
			GlobalPool: "avg", Act: "gelu", NormEps: 1e-6, NumClasses: 7}},
		{"naflexvit_tiny_patch8_cls", Config{PatchSize: [2]int{8, 8}, ConvEmbed: true, InChans: 3, EmbedDim: 48, Depth: 1, NumHeads: 3, MLPHidden: 64,
			ClassToken: true, PosGrid: [2]int{5, 7}, PosInterp: "bicubic", FinalNorm: true, GlobalPool: "token", Act: "gelu", NormEps: 1e-6}},
		{"naflexvit_small_patch4_cf", Config{PatchSize: [2]int{4, 4}, ChannelsFirst: true, InChans: 3, EmbedDim: 48, Depth: 1, NumHeads: 3,
			MLPHidden: 64, QKVBias: true, PosGrid: [2]int{4, 4}, PosInterp: "bilinear", FinalNorm: true, GlobalPool: "avg", Act: "gelu_tanh", NormEps: 1e-6}},
	} {
		t.Run(v.arch, func(t *testing.T) {
			src := RandomWeights(v.cfg, 3)
			hub := &nn.HubConfig{Architecture: v.arch, ModelArgs: map[string]any{"num_heads": float64(v.cfg.NumHeads), "patch_size": float64(v.cfg.PatchSize[0]),
				"patchify_channels_last": !v.cfg.ChannelsFirst, "act_layer": v.cfg.Act, "pos_embed_interp_mode": v.cfg.PosInterp}}
			got, err := InferConfig(mapCheckpoint{src}, hub)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, v.cfg) {
				t.Fatalf("inferred\n%+v\nwant\n%+v", got, v.cfg)
			}
			m, err := newModel(got, src, options{})
			if err != nil {
				t.Fatal(err)
			}
			p := v.cfg.PatchSize[0]
			imgs := []nn.Image{benchImage(3*p, 5*p), benchImage(4*p, 2*p)}
			single := make([]nn.Output, len(imgs))
			for i := range imgs {
				if err := m.Forward(imgs[i], &single[i]); err != nil {
					t.Fatal(err)
				}
			}
			outs := make([]nn.Output, len(imgs))
			if err := m.ForwardPatches(padded(imgs, p, v.cfg.ChannelsFirst), outs); err != nil {
				t.Fatal(err)
			}
			for i := range outs {
				if familytest.MaxDiff(outs[i].Tokens, single[i].Tokens) != 0 || familytest.MaxDiff(outs[i].Pooled, single[i].Pooled) != 0 ||
					familytest.MaxDiff(outs[i].Logits, single[i].Logits) != 0 || outs[i].Prefix != v.cfg.Prefix() {
					t.Errorf("image %d: the padded batch differs from the single run", i)
				}
			}
		})
	}
}
