package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/vit"
)

func openT(t *testing.T, path string) *tensorfile.File {
	t.Helper()
	f, err := tensorfile.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestResizeCheckpointSameGridCopiesEverything(t *testing.T) {
	in := goldenPath(t, "vit_cls_learned.safetensors")
	out := filepath.Join(t.TempDir(), "same.safetensors")
	// 230×239 still gives the 14×14 grid at patch 16: nothing to resample,
	// but the config must now say 230×239.
	if err := runResizeCheckpoint([]string{"-in", in, "-out", out, "-size", "230x239"}); err != nil {
		t.Fatal(err)
	}
	a, b := openT(t, in), openT(t, out)
	if len(a.Names()) != len(b.Names()) {
		t.Fatalf("%d tensors in, %d out", len(a.Names()), len(b.Names()))
	}
	for _, name := range a.Names() {
		x, _, _ := a.Float32(name)
		y, shape, err := b.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(x) != len(y) {
			t.Fatalf("%s: %d values, want %d (shape %v)", name, len(y), len(x), shape)
		}
		for i := range x {
			if x[i] != y[i] {
				t.Fatalf("%s[%d] = %v, want %v", name, i, y[i], x[i])
			}
		}
	}
	var cfg map[string]any
	if err := json.Unmarshal([]byte(b.Metadata()["config"]), &cfg); err != nil {
		t.Fatal(err)
	}
	if got, _ := pair(cfg["img_size"]); got != [2]int{230, 239} {
		t.Errorf("config img_size %v, want [230 239]", cfg["img_size"])
	}
	if cfg["embed_dim"] != 60.0 || cfg["no_embed_class"] != false {
		t.Errorf("other config keys lost: %v", cfg)
	}
	var kw map[string]any
	json.Unmarshal([]byte(b.Metadata()["timm_kwargs"]), &kw)
	if got, _ := pair(kw["img_size"]); got != [2]int{230, 239} {
		t.Errorf("timm_kwargs img_size %v, want [230 239]", kw["img_size"])
	}
}

func TestResizeCheckpointErrors(t *testing.T) {
	dir := t.TempDir()
	ck := goldenPath(t, "vit_cls_learned.safetensors")
	out := filepath.Join(dir, "o.safetensors")
	badCfg := filepath.Join(dir, "bad.json")
	os.WriteFile(badCfg, []byte(`{"img_size": [224, 224], "patch_size": [14, 14]}`), 0o644)
	for name, args := range map[string][]string{
		"no in":              {"-out", out, "-size", "320x320"},
		"no out":             {"-in", ck, "-size", "320x320"},
		"nothing to do":      {"-in", ck, "-out", out},
		"bad size":           {"-in", ck, "-out", out, "-size", "huge"},
		"bad patch":          {"-in", ck, "-out", out, "-patch", "0"},
		"smaller than patch": {"-in", ck, "-out", out, "-size", "8x300"},
		"unknown flag":       {"-in", ck, "-out", out, "-size", "320", "-interpolation", "cubic"},
		"no pos_embed":       {"-in", goldenPath(t, "vit_nope.safetensors"), "-out", out, "-size", "320"},
		"config mismatch":    {"-in", ck, "-out", out, "-size", "320", "-config", badCfg},
		"missing config":     {"-in", ck, "-out", out, "-size", "320", "-config", filepath.Join(dir, "none.json")},
	} {
		if err := runResizeCheckpoint(args); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed run left %s", out)
	}
}

func TestResizeCheckpointStoresAResolvedConfigFromTimmHub(t *testing.T) {
	dir := t.TempDir()
	in := stripped(t, "vit_cls_learned.safetensors")
	hub := filepath.Join(dir, "config.json")
	os.WriteFile(hub, []byte(`{"architecture": "vit_tiny_patch16_224", "model_args": {"num_heads": 3}, "pretrained_cfg": {"input_size": [3, 224, 224]}}`), 0o644)
	out := filepath.Join(dir, "o.safetensors")
	if err := runResizeCheckpoint([]string{"-in", in, "-out", out, "-config", hub, "-size", "230x230"}); err != nil {
		t.Fatal(err)
	}
	f := openT(t, out)
	cfg, err := vit.ParseConfig([]byte(f.Metadata()["config"]))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NumHeads != 3 || cfg.ImgSize != [2]int{230, 230} || cfg.EmbedDim != 60 {
		t.Errorf("stored config %+v", cfg)
	}
}
