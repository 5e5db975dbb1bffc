package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/vit"
)

// stripped writes a copy of a golden model file with only its weights (no
// metadata, no test inputs and outputs), as a checkpoint from the hub is.
func stripped(t *testing.T, golden string, drop ...string) string {
	t.Helper()
	ck, err := openCheckpoint(goldenPath(t, golden), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]tensorout.Tensor{}
	for _, nv := range ck.raw.Tensors() {
		n := nv.Name
		if strings.HasPrefix(n, "in_") || strings.HasPrefix(n, "features_") || strings.HasPrefix(n, "logits_") {
			continue
		}
		out[n] = tensorout.Raw(nv.TensorView)
	}
	for _, d := range drop {
		delete(out, d)
	}
	p := filepath.Join(t.TempDir(), "model.safetensors")
	if err := tensorout.WriteSafetensorsFile(p, out, nil); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestInferConfigMatchesTheGoldenConfigs(t *testing.T) {
	for _, name := range []string{"vit_cls_learned.safetensors", "vit_reg_noembedcls_avg.safetensors", "vit_nope.safetensors"} {
		ref, err := tensorfile.Open(goldenPath(t, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := vit.ParseConfig([]byte(ref.Metadata()["config"]))
		ref.Close()
		if err != nil {
			t.Fatal(err)
		}
		f, err := tensorfile.Open(stripped(t, name))
		if err != nil {
			t.Fatal(err)
		}
		// The golden models have 3 heads of 20, which no name implies: the
		// hub config would say so in model_args.
		hub := &timmHubConfig{Architecture: "vit_tiny_patch16_224", ModelArgs: map[string]any{"num_heads": 3.0}}
		hub.Pretrained.InputSize = []int{3, want.ImgSize[0], want.ImgSize[1]}
		pool := want.GlobalPool
		hub.GlobalPool = &pool
		got, err := inferConfig(f, hub)
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
	f, err := tensorfile.Open(stripped(t, "vit_cls_learned.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// 60 wide: no way to tell the heads without a config.
	if _, err := inferConfig(f, nil); err == nil || !strings.Contains(err.Error(), "heads") {
		t.Fatalf("err = %v, want one about the head count", err)
	}
	c, err := inferConfig(f, &timmHubConfig{ModelArgs: map[string]any{"num_heads": 3.0}})
	if err != nil {
		t.Fatal(err)
	}
	if c.EmbedDim != 60 || c.NumHeads != 3 || c.Depth != 2 || c.PatchSize != [2]int{16, 16} || c.ImgSize != [2]int{224, 224} ||
		!c.ClassToken || c.GlobalPool != "token" || c.NumClasses != 10 || c.MLPHidden != 240 || c.NoEmbedClass {
		t.Errorf("inferred %+v", c)
	}
}

func TestInferConfigRefusesUnknownArchitectures(t *testing.T) {
	ck, err := openCheckpoint(goldenPath(t, "vit_cls_learned.safetensors"), "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]tensorout.Tensor{}
	for _, nv := range ck.raw.Tensors() {
		out[nv.Name] = tensorout.Raw(nv.TensorView)
	}
	out["blocks.0.ls1.gamma"] = tensorout.F32([]int{60}, make([]float32, 60)) // DINOv2-style layer scale
	p := filepath.Join(t.TempDir(), "ls.safetensors")
	if err := tensorout.WriteSafetensorsFile(p, out, nil); err != nil {
		t.Fatal(err)
	}
	f, err := tensorfile.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := inferConfig(f, nil); err == nil || !strings.Contains(err.Error(), "ls1") {
		t.Errorf("layer scale: err = %v", err)
	}
}

func TestRunWithTimmHubConfig(t *testing.T) {
	dir := t.TempDir()
	weights := stripped(t, "vit_cls_learned.safetensors")
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, []byte(`{"architecture": "vit_tiny_patch16_224", "num_classes": 10, "global_pool": "token",
		"model_args": {"num_heads": 3},
		"label_names": ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"],
		"label_descriptions": {"c3": "class three"},
		"pretrained_cfg": {"input_size": [3, 224, 224], "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}`), 0o644)
	photo := writePhoto(t, dir, 224, 224)
	got, err := runCaptured(t, "-weights", weights, "-config", cfg, "-image", photo, "-top", "10")
	if err != nil {
		t.Fatal(err)
	}
	// Same weights, same input (the hub config's 0.5 normalisation) as the golden file with its own config.
	ref := reference(t, tinyModel(t), photo, imageprepInception())
	var want strings.Builder
	printTop(&want, ref.Logits, []string{"c0", "c1", "c2", "class three", "c4", "c5", "c6", "c7", "c8", "c9"}, 10)
	if got != want.String() {
		t.Errorf("got\n%s\nwant\n%s", got, want.String())
	}
}

func TestHubLabels(t *testing.T) {
	h, ok := parseTimmHub([]byte(`{"architecture": "x", "label_names": {"0": "n0", "2": "n2"}, "label_descriptions": {"n2": "two"}}`))
	if !ok {
		t.Fatal("not parsed")
	}
	if got := h.labels(3); len(got) != 3 || got[0] != "n0" || got[1] != "" || got[2] != "two" {
		t.Errorf("labels %q", got)
	}
	var none *timmHubConfig
	if none.labels(5) != nil {
		t.Error("nil config has labels")
	}
}

// A checkpoint without metadata runs with anyres's resolved config from a file.
func TestRunWithResolvedConfigFile(t *testing.T) {
	dir := t.TempDir()
	ref, err := tensorfile.Open(goldenPath(t, "vit_cls_learned.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "cfg.json")
	os.WriteFile(cfg, []byte(ref.Metadata()["config"]), 0o644)
	ref.Close()
	photo := writePhoto(t, dir, 100, 130)
	got, err := runCaptured(t, "-weights", stripped(t, "vit_cls_learned.safetensors"), "-config", cfg, "-image", photo, "-top", "10")
	if err != nil {
		t.Fatal(err)
	}
	want, err := runCaptured(t, "-weights", tinyModel(t), "-image", photo, "-top", "10")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("with -config:\n%s\nwith the file's own config:\n%s", got, want)
	}
}
