package vit

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/nn"
)

// TestAmbiguousTableIsRefused: a table whose rows are a square grid both
// after the prefix rows and without them (9 rows, class token and 4
// registers: 2×2 or 3×3) is refused when no stated size decides, and read
// as stated when one does.
func TestAmbiguousTableIsRefused(t *testing.T) {
	cfg := Config{ImgSize: [2]int{42, 42}, PatchSize: [2]int{14, 14}, InChans: 3, EmbedDim: 8, Depth: 1, NumHeads: 2, MLPHidden: 8,
		QKVBias: true, ClassToken: true, RegTokens: 4, NoEmbedClass: true, PosEmbed: "learn", GlobalPool: "token",
		FinalNorm: true, NormEps: 1e-6, Act: "gelu_erf"}
	tensors := map[string]tensorout.Tensor{}
	for name, x := range RandomWeights(cfg, 1) {
		tensors[name] = tensorout.F32(x.Shape, x.Data)
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := tensorout.WriteSafetensorsFile(path, tensors, nil); err != nil {
		t.Fatal(err)
	}
	ck, err := tensorfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ck.Close()
	for _, hub := range []*nn.HubConfig{
		{Architecture: "vit_tiny_patch14_reg4", ModelArgs: map[string]any{"num_heads": 2.0}},
		{Architecture: "vit_tiny_patch14_reg4", ModelArgs: map[string]any{"num_heads": 2.0, "img_size": 518.0}},
	} {
		if _, err := InferConfig(ck, hub); err == nil || !strings.Contains(err.Error(), "square grid both") {
			t.Errorf("model_args %v: %v, want the ambiguity refused", hub.ModelArgs, err)
		}
	}
	got, err := InferConfig(ck, &nn.HubConfig{Architecture: "vit_tiny_patch14_reg4", ModelArgs: map[string]any{"num_heads": 2.0, "img_size": 42.0}})
	if err != nil || got.ImgSize != [2]int{42, 42} || !got.NoEmbedClass {
		t.Errorf("stated 42: %v, %v", got.ImgSize, err)
	}
}
