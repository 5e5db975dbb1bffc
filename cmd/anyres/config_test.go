package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
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
