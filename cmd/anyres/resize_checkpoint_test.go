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
	a := openT(t, in)
	var own struct {
		Img   [2]int `json:"img_size"`
		Patch [2]int `json:"patch_size"`
	}
	if err := json.Unmarshal([]byte(a.Metadata()["config"]), &own); err != nil {
		t.Fatal(err)
	}
	// Part of a patch more on each side still gives the training grid:
	// nothing to resample, but the config must now say the new size.
	size := [2]int{own.Img[0] + (own.Patch[0]-1)/2, own.Img[1] + own.Patch[1] - 1}
	if err := runResizeCheckpoint([]string{"-in", in, "-out", out, "-size", fmt.Sprintf("%dx%d", size[0], size[1])}); err != nil {
		t.Fatal(err)
	}
	b := openT(t, out)
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
	var cfg, inCfg map[string]any
	if err := json.Unmarshal([]byte(b.Metadata()["config"]), &cfg); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal([]byte(a.Metadata()["config"]), &inCfg)
	if got, _ := pair(cfg["img_size"]); got != size {
		t.Errorf("config img_size %v, want %v", cfg["img_size"], size)
	}
	if cfg["embed_dim"] != inCfg["embed_dim"] || cfg["no_embed_class"] != inCfg["no_embed_class"] {
		t.Errorf("other config keys lost: %v", cfg)
	}
	var kw map[string]any
	json.Unmarshal([]byte(b.Metadata()["timm_kwargs"]), &kw)
	if got, _ := pair(kw["img_size"]); got != size {
		t.Errorf("timm_kwargs img_size %v, want %v", kw["img_size"], size)
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
		"smaller than patch": {"-in", ck, "-out", out, "-size", fmt.Sprintf("%dx300", patchOf(t, "vit_cls_learned.safetensors")[0]/2)},
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
	const name = "vit_cls_learned.safetensors"
	dir := t.TempDir()
	in := stripped(t, name)
	own, err := vit.ParseConfig([]byte(openT(t, goldenPath(t, name)).Metadata()["config"]))
	if err != nil {
		t.Fatal(err)
	}
	hub := filepath.Join(dir, "config.json")
	os.WriteFile(hub, []byte(fmt.Sprintf(`{"architecture": "vit_tiny_patch16_224", "model_args": {"num_heads": %d}, "pretrained_cfg": {"input_size": [3, %d, %d]}}`,
		own.NumHeads, own.ImgSize[0], own.ImgSize[1])), 0o644)
	out := filepath.Join(dir, "o.safetensors")
	size := [2]int{own.ImgSize[0] + 6, own.ImgSize[1] + 6}
	if err := runResizeCheckpoint([]string{"-in", in, "-out", out, "-config", hub, "-size", fmt.Sprintf("%dx%d", size[0], size[1])}); err != nil {
		t.Fatal(err)
	}
	f := openT(t, out)
	cfg, err := vit.ParseConfig([]byte(f.Metadata()["config"]))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NumHeads != own.NumHeads || cfg.ImgSize != size || cfg.EmbedDim != own.EmbedDim {
		t.Errorf("stored config %+v, want heads %d, img_size %v, embed_dim %d", cfg, own.NumHeads, size, own.EmbedDim)
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

// resizeCase is one resize-checkpoint run checked against timm: the
// checkpoint's tables, its training size, the flags, and timm's results.
type resizeCase struct {
	posName, kernelName string
	prefix              int
	img                 [2]int
	args                []string
	wantPos, wantKernel string // golden results, or "" for unchanged
	wantPosShape        []int
}

type absParams struct {
	New    [2]int `json:"new_size"`
	Old    [2]int `json:"old_size"`
	Prefix int    `json:"num_prefix_tokens"`
	Interp string `json:"interpolation"`
	AA     bool   `json:"antialias"`
}

type patchParams struct {
	New    [2]int `json:"new_size"`
	Interp string `json:"interpolation"`
	AA     bool   `json:"antialias"`
}

// resizeCases are the timm resampling goldens that resize-checkpoint can
// express: every pos_embed case (the checkpoint trained on the old grid,
// resized to the new), every square patch-kernel case (the grid kept), and
// one of each at once.
func resizeCases(t *testing.T, pos, ker *golden.File) []resizeCase {
	var out []resizeCase
	var k0 golden.Case // the kernel the pos_embed cases carry along
	var kp [2]int
	for _, c := range ker.Cases {
		if c.Fn == "timm.layers.resample_patch_embed" {
			k0 = c
			shape, err := ker.Shape(c.Inputs[0])
			if err != nil {
				t.Fatal(err)
			}
			kp = [2]int{shape[2], shape[3]}
			break
		}
	}
	if k0.Name == "" {
		t.Fatal("no resample_patch_embed case")
	}
	var grid golden.Case // a grid change, bicubic with antialias (the defaults)
	var gp absParams
	for _, c := range pos.Cases {
		var p absParams
		c.Decode(t, &p)
		newN, oldN := p.New[0]*p.New[1], p.Old[0]*p.Old[1]
		if newN == oldN && p.New[0] == p.New[1] && p.New != p.Old {
			continue // timm keeps the table for any grid of the same count when the new one is square; anyres resamples
		}
		shape, err := pos.Shape(c.Inputs[0])
		if err != nil {
			t.Fatal(err)
		}
		want := c.Outputs[0]
		if p.New == p.Old {
			want = ""
		} else if grid.Name == "" && p.Interp == "bicubic" && p.AA {
			grid, gp = c, p
		}
		args := []string{"-size", fmt.Sprintf("%dx%d", p.New[0]*kp[0], p.New[1]*kp[1])}
		if p.New != p.Old { // an unchanged grid refuses -method, which would do nothing
			args = append(args, "-method", p.Interp, fmt.Sprintf("-antialias=%v", p.AA))
		}
		out = append(out, resizeCase{c.Inputs[0], k0.Inputs[0], p.Prefix, [2]int{p.Old[0] * kp[0], p.Old[1] * kp[1]},
			args, want, "", []int{1, p.Prefix + newN, shape[2]}})
	}
	if grid.Name == "" {
		t.Fatal("no bicubic antialiased resample_abs_pos_embed case that changes the grid")
	}
	gshape, _ := pos.Shape(grid.Inputs[0])
	for _, c := range ker.Cases {
		var p patchParams
		c.Decode(t, &p)
		if c.Fn != "timm.layers.resample_patch_embed" || p.New[0] != p.New[1] || len(c.Inputs) != 1 {
			continue // -patch is one side
		}
		shape, _ := ker.Shape(c.Inputs[0])
		old := [2]int{shape[2], shape[3]}
		g := gp.Old
		args := []string{"-size", fmt.Sprintf("%dx%d", g[0]*p.New[0], g[1]*p.New[1]), "-patch", fmt.Sprint(p.New[0])}
		if p.New != old { // at the kernel's own size there is nothing to resample: a method would be refused
			args = append(args, "-method", p.Interp, fmt.Sprintf("-antialias=%v", p.AA))
		}
		out = append(out, resizeCase{grid.Inputs[0], c.Inputs[0], gp.Prefix, [2]int{g[0] * old[0], g[1] * old[1]},
			args, "", c.Outputs[0], gshape})
		if p.Interp == "bicubic" && p.AA { // both at once: the grid's new size at this patch
			n := gp.New
			out = append(out, resizeCase{grid.Inputs[0], c.Inputs[0], gp.Prefix, [2]int{g[0] * old[0], g[1] * old[1]},
				[]string{"-size", fmt.Sprintf("%dx%d", n[0]*p.New[0], n[1]*p.New[1]), "-patch", fmt.Sprint(p.New[0])},
				grid.Outputs[0], c.Outputs[0], []int{1, gp.Prefix + n[0]*n[1], gshape[2]}})
		}
	}
	return out
}

func TestResizeCheckpointMatchesTimm(t *testing.T) {
	pos := golden.Open(t, "resample_abs_pos_embed.safetensors")
	ker := golden.Open(t, "resample_patch_embed.safetensors")
	for _, tc := range resizeCases(t, pos, ker) {
		name := strings.Join(tc.args, " ")
		in := goldenCheckpoint(t, tc.posName, tc.kernelName, tc.prefix, tc.img)
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
		wantK, _ := ker.F32(t, tc.kernelName)
		if tc.wantKernel != "" {
			wantK, _ = ker.F32(t, tc.wantKernel)
		}
		golden.Close(t, name+": patch kernel", gotK, wantK, 1e-5, 1e-5)
		if v, _, _ := f.Float32("blocks.0.norm1.weight"); len(v) != 3 || v[2] != 3 {
			t.Errorf("%s: other tensors not copied: %v", name, v)
		}
	}
}
