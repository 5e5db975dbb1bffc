package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
)

// stripped writes a copy of a golden model file with only its weights (no
// metadata, no test inputs and outputs), as a checkpoint from the hub is.
func stripped(t *testing.T, golden string, drop ...string) string {
	t.Helper()
	return weightsWith(t, golden, nil, drop...)
}

// ownModel writes a golden model's weights with its own config, as anyres
// writes a checkpoint: the reference the stripped copies are run against.
func ownModel(t *testing.T, golden string) string {
	t.Helper()
	f, err := tensorfile.Open(goldenPath(t, golden))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return weightsWith(t, golden, map[string]string{"config": f.Metadata()["config"]})
}

func weightsWith(t *testing.T, golden string, meta map[string]string, drop ...string) string {
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
	if err := tensorout.WriteSafetensorsFile(p, out, meta); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunWithTimmHubConfig(t *testing.T) {
	const name = "vit_cls_learned.safetensors"
	dir := t.TempDir()
	weights := stripped(t, name)
	// The hub config says what the weights do not: heads, classes, training
	// size (all the golden file's own), labels and normalisation.
	f, err := tensorfile.Open(goldenPath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	var own struct {
		NumHeads   int    `json:"num_heads"`
		NumClasses int    `json:"num_classes"`
		GlobalPool string `json:"global_pool"`
		ImgSize    [2]int `json:"img_size"`
	}
	err = json.Unmarshal([]byte(f.Metadata()["config"]), &own)
	f.Close()
	if err != nil || own.NumClasses < 1 {
		t.Fatalf("golden config: %v, %d classes", err, own.NumClasses)
	}
	labels := make([]string, own.NumClasses)
	for i := range labels {
		labels[i] = fmt.Sprintf("c%d", i)
	}
	described := own.NumClasses / 2 // a label with a description, which the command prints instead
	hub := map[string]any{"architecture": "vit_tiny_patch16_224", "num_classes": own.NumClasses, "global_pool": own.GlobalPool,
		"model_args": map[string]any{"num_heads": own.NumHeads}, "label_names": labels,
		"label_descriptions": map[string]string{labels[described]: "the described class"},
		"pretrained_cfg":     map[string]any{"input_size": []int{3, own.ImgSize[0], own.ImgSize[1]}, "mean": []float64{0.5, 0.5, 0.5}, "std": []float64{0.5, 0.5, 0.5}}}
	raw, err := json.Marshal(hub)
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "config.json")
	os.WriteFile(cfg, raw, 0o644)
	photo := writePhoto(t, dir, own.ImgSize[0], own.ImgSize[1])
	got, err := runCaptured(t, "-weights", weights, "-config", cfg, "-image", photo, "-top", strconv.Itoa(own.NumClasses))
	if err != nil {
		t.Fatal(err)
	}
	// Same weights, same input (the hub config's 0.5 normalisation) as the golden file with its own config.
	ref := reference(t, ownModel(t, name), photo, imageprepInception())
	names := slices.Clone(labels)
	names[described] = "the described class"
	var want strings.Builder
	if err := printTop(&want, ref.Logits, names, own.NumClasses); err != nil {
		t.Fatal(err)
	}
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
	want, err := runCaptured(t, "-weights", ownModel(t, "vit_cls_learned.safetensors"), "-image", photo, "-top", "10")
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("with -config:\n%s\nwith the file's own config:\n%s", got, want)
	}
}
