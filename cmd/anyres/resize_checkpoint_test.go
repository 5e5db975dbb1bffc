package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
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
		"unknown method":     {"-in", ck, "-out", out, "-size", "224", "-method", "lanczos"},
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

// goldenCheckpoint writes a small checkpoint whose pos_embed and patch
// kernel are inputs of the timm resampling goldens, so that what
// resize-checkpoint writes can be compared with what timm computed.
func goldenCheckpoint(t *testing.T, posName, kernelName string, prefix int, imgSize [2]int) string {
	t.Helper()
	pos := golden.Open(t, "resample_abs_pos_embed.safetensors")
	ker := golden.Open(t, "resample_patch_embed.safetensors")
	p, pshape := pos.F32(t, posName)
	k, kshape := ker.F32(t, kernelName)
	dim := pshape[2]
	tensors := map[string]tensorout.Tensor{
		"pos_embed":               tensorout.F32(pshape, p),
		"patch_embed.proj.weight": tensorout.F32(kshape, k),
		"blocks.0.norm1.weight":   tensorout.F32([]int{3}, []float32{1, 2, 3}),
	}
	if prefix > 0 {
		tensors["cls_token"] = tensorout.F32([]int{1, 1, dim}, make([]float32, dim))
	}
	if prefix > 1 {
		tensors["reg_token"] = tensorout.F32([]int{1, prefix - 1, dim}, make([]float32, (prefix-1)*dim))
	}
	cfg := fmt.Sprintf(`{"img_size": [%d, %d], "patch_size": [%d, %d], "class_token": %v, "reg_tokens": %d, "no_embed_class": false}`,
		imgSize[0], imgSize[1], kshape[2], kshape[3], prefix > 0, max(0, prefix-1))
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := tensorout.WriteSafetensorsFile(path, tensors, map[string]string{"config": cfg}); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestResizeCheckpointMatchesTimm(t *testing.T) {
	pos := golden.Open(t, "resample_abs_pos_embed.safetensors")
	ker := golden.Open(t, "resample_patch_embed.safetensors")
	for _, tc := range []struct {
		posName      string
		prefix       int
		img          [2]int
		args         []string
		wantPos      string // golden pos_embed, or "" for unchanged
		wantKernel   string // golden kernel, or "" for unchanged
		wantPosShape []int
	}{
		{"posemb0", 1, [2]int{224, 224}, []string{"-size", "320x320"}, "posemb0_bicubic_aa1_20x20", "", []int{1, 401, 12}},
		{"posemb0", 1, [2]int{224, 224}, []string{"-size", "112x144", "-method", "bilinear", "-antialias=false"}, "posemb0_bilinear_aa0_7x9", "", []int{1, 64, 12}},
		{"posemb1", 1, [2]int{192, 256}, []string{"-size", "144x480", "-method", "bilinear"}, "posemb1_bilinear_aa1_9x30", "", []int{1, 271, 12}},
		{"posemb3", 5, [2]int{224, 224}, []string{"-size", "160x336"}, "posemb3_bicubic_aa1_10x21", "", []int{1, 215, 12}},
		{"posemb2", 0, [2]int{224, 224}, []string{"-size", "256x192", "-antialias=false"}, "posemb2_bicubic_aa0_16x12", "", []int{1, 192, 12}},
		// Patch size only: the grid stays 14×14, the kernel is PI-resized.
		{"posemb0", 1, [2]int{224, 224}, []string{"-size", "112", "-patch", "8"}, "", "kernel0_bicubic_aa1_8x8", []int{1, 197, 12}},
		{"posemb0", 1, [2]int{224, 224}, []string{"-size", "168", "-patch", "12", "-method", "bilinear", "-antialias=false"}, "", "kernel0_bilinear_aa0_12x12", []int{1, 197, 12}},
		// Both: patch 32 at 448 keeps 14×14 too; patch 24 at 480 is 20×20.
		{"posemb0", 1, [2]int{224, 224}, []string{"-size", "480", "-patch", "24"}, "posemb0_bicubic_aa1_20x20", "kernel0_bicubic_aa1_24x24", []int{1, 401, 12}},
	} {
		name := strings.Join(tc.args, " ")
		in := goldenCheckpoint(t, tc.posName, "kernel0", tc.prefix, tc.img)
		out := filepath.Join(t.TempDir(), "out.safetensors")
		if err := runResizeCheckpoint(append([]string{"-in", in, "-out", out}, tc.args...)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f := openT(t, out)
		got, shape, err := f.Float32("pos_embed")
		if err != nil {
			t.Fatal(err)
		}
		if fmt.Sprint(shape) != fmt.Sprint(tc.wantPosShape) {
			t.Errorf("%s: pos_embed shape %v, want %v", name, shape, tc.wantPosShape)
		}
		want, _ := pos.F32(t, tc.posName)
		if tc.wantPos != "" {
			want, _ = pos.F32(t, tc.wantPos)
		}
		golden.Close(t, name+": pos_embed", got, want, 1e-5, 1e-5)
		gotK, _, _ := f.Float32("patch_embed.proj.weight")
		wantK, _ := ker.F32(t, "kernel0")
		if tc.wantKernel != "" {
			wantK, _ = ker.F32(t, tc.wantKernel)
		}
		golden.Close(t, name+": patch kernel", gotK, wantK, 1e-5, 1e-5)
		if v, _, _ := f.Float32("blocks.0.norm1.weight"); len(v) != 3 || v[2] != 3 {
			t.Errorf("%s: other tensors not copied: %v", name, v)
		}
	}
}

// TestResizeCheckpointZeroSizedKernel: without a config the patch size comes
// from patch_embed.proj.weight; a 0-sized dimension there used to reach
// size / patch as "integer divide by zero". Each shape must be a clear error.
func TestResizeCheckpointZeroSizedKernel(t *testing.T) {
	for _, c := range []struct {
		kshape []int
		args   []string
	}{
		{[]int{8, 3, 16, 0}, []string{"-size", "384x384"}},
		{[]int{8, 3, 0, 16}, []string{"-size", "384x384"}},
		{[]int{8, 3, 0, 0}, []string{"-size", "384x384"}},
		{[]int{0, 3, 16, 16}, []string{"-patch", "8"}},
		{[]int{8, 0, 16, 16}, []string{"-patch", "8"}},
	} {
		dim, n := 8, 1
		for _, d := range c.kshape {
			n *= d
		}
		tensors := map[string]tensorout.Tensor{
			"pos_embed":               tensorout.F32([]int{1, 1 + 196, dim}, make([]float32, 197*dim)),
			"cls_token":               tensorout.F32([]int{1, 1, dim}, make([]float32, dim)),
			"patch_embed.proj.weight": tensorout.F32(c.kshape, make([]float32, n)),
		}
		dir := t.TempDir()
		in, out := filepath.Join(dir, "in.safetensors"), filepath.Join(dir, "out.safetensors")
		if err := tensorout.WriteSafetensorsFile(in, tensors, nil); err != nil {
			t.Fatal(err)
		}
		what := fmt.Sprintf("kernel %v, %v", c.kshape, c.args)
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: panic: %v", what, r)
				}
			}()
			err := runResizeCheckpoint(append([]string{"-in", in, "-out", out}, c.args...))
			if err == nil || !strings.Contains(err.Error(), "patch_embed.proj.weight") {
				t.Errorf("%s: error %v, want one naming patch_embed.proj.weight", what, err)
			}
		}()
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s: a failed run left %s", what, out)
		}
	}
}
