package vit

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/nn"
)

// weightsOnly writes a golden model's weights alone (no metadata, no
// reference tensors) as a hub checkpoint would hold them.
func weightsOnly(t *testing.T, name string) string {
	t.Helper()
	f := golden.Open(t, name)
	dir := t.TempDir()
	golden.WriteWeights(t, f, filepath.Join(dir, "model.safetensors"))
	return filepath.Join(dir, "model.safetensors")
}

func TestInferConfigMatchesTheGoldenConfigs(t *testing.T) {
	for _, name := range []string{"vit_cls_learned.safetensors", "vit_reg_noembedcls_avg.safetensors", "vit_nope.safetensors"} {
		ref, err := tensorfile.Open(filepath.Join(golden.Dir(t), name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := ParseConfig([]byte(ref.Metadata()["config"]))
		ref.Close()
		if err != nil {
			t.Fatal(err)
		}
		f, err := tensorfile.Open(weightsOnly(t, name))
		if err != nil {
			t.Fatal(err)
		}
		// The golden models have 3 heads of 20, which no name implies: the
		// hub config would say so in model_args.
		hub := &nn.HubConfig{Architecture: "vit_tiny_patch16_224", ModelArgs: map[string]any{"num_heads": 3.0}}
		hub.Pretrained.InputSize = []int{3, want.ImgSize[0], want.ImgSize[1]}
		pool := want.GlobalPool
		hub.GlobalPool = &pool
		got, err := InferConfig(f, hub)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want.DynamicImgPad = false // a training-time choice that no checkpoint records
		if want.PosEmbed == "none" {
			got.ImgSize = want.ImgSize
		}
		if got != want {
			t.Errorf("%s: inferred\n%+v\nwant\n%+v", name, got, want)
		}
	}
}

func TestInferConfigFromWeightsAlone(t *testing.T) {
	f, err := tensorfile.Open(weightsOnly(t, "vit_cls_learned.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// 60 wide: no way to tell the heads without a config.
	if _, err := InferConfig(f, nil); err == nil || !strings.Contains(err.Error(), "heads") {
		t.Fatalf("err = %v, want one about the head count", err)
	}
	c, err := InferConfig(f, &nn.HubConfig{ModelArgs: map[string]any{"num_heads": 3.0}})
	if err != nil {
		t.Fatal(err)
	}
	if c.EmbedDim != 60 || c.NumHeads != 3 || c.Depth != 2 || c.PatchSize != [2]int{16, 16} || c.ImgSize != [2]int{224, 224} ||
		!c.ClassToken || c.GlobalPool != "token" || c.NumClasses != 10 || c.MLPHidden != 240 || c.NoEmbedClass {
		t.Errorf("inferred %+v", c)
	}
}

// TestInferConfigZeroSizedKernel: a patch kernel with a zero-sized
// dimension is an error, not a division by zero.
func TestInferConfigZeroSizedKernel(t *testing.T) {
	for _, shape := range [][]int{{0, 3, 16, 16}, {60, 0, 16, 16}, {60, 3, 0, 16}, {60, 3, 16, 0}} {
		src := nn.MapSource{"patch_embed.proj.weight": {Data: make([]float32, nn.Product(shape)), Shape: shape}}
		if _, err := InferConfig(mapCheckpoint{src}, &nn.HubConfig{Architecture: "vit_base_patch16_224"}); err == nil || !strings.Contains(err.Error(), "patch_embed.proj.weight") {
			t.Errorf("%v: %v", shape, err)
		}
	}
}

// mapCheckpoint is a MapSource as a checkpoint without metadata.
type mapCheckpoint struct{ nn.MapSource }

func (c mapCheckpoint) Shape(name string) ([]int, error) {
	_, s, err := c.Float32(name)
	return s, err
}

func (c mapCheckpoint) Metadata() map[string]string { return nil }
