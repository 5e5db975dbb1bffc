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
		// The golden models have head counts no name implies (the file's
		// config says how many): the hub config would say so in model_args.
		hub := &nn.HubConfig{Architecture: "vit_tiny_patch16_224", ModelArgs: map[string]any{"num_heads": float64(want.NumHeads)}}
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
	const name = "vit_cls_learned.safetensors"
	want := configOf(t, golden.Open(t, name))
	f, err := tensorfile.Open(weightsOnly(t, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// A width that no timm model has: no way to tell the heads without a config.
	if _, std := timmHeads[want.EmbedDim]; !std {
		if _, err := InferConfig(f, nil); err == nil || !strings.Contains(err.Error(), "heads") {
			t.Fatalf("err = %v, want one about the head count", err)
		}
	}
	c, err := InferConfig(f, &nn.HubConfig{ModelArgs: map[string]any{"num_heads": float64(want.NumHeads)}})
	if err != nil {
		t.Fatal(err)
	}
	if c.EmbedDim != want.EmbedDim || c.NumHeads != want.NumHeads || c.Depth != want.Depth || c.PatchSize != want.PatchSize ||
		c.ImgSize != want.ImgSize || c.ClassToken != want.ClassToken || c.GlobalPool != want.GlobalPool ||
		c.NumClasses != want.NumClasses || c.MLPHidden != want.MLPHidden || c.NoEmbedClass != want.NoEmbedClass {
		t.Errorf("inferred\n%+v\nwant (the file's config)\n%+v", c, want)
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
