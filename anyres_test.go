package anyres_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// familyGoldens are the model-family reference files that the front door
// runs from a hub folder written from each file (weights + timm's
// config.json), on every case at every kernel level.
var familyGoldens = []string{
	"vit_dinov2_reg.safetensors",
	"deit_distilled.safetensors",
	"vit_clip_quickgelu.safetensors",
	"vit_siglip_map.safetensors",
	"flexivit_patch.safetensors",
}

// ownConfigGoldens carry anyres's own config metadata (no hub config):
// the front door loads them from the file alone.
var ownConfigGoldens = []string{
	"vit_cls_learned.safetensors",
	"vit_reg_noembedcls_avg.safetensors",
	"vit_nope.safetensors",
}

// perLevel runs body at every kernel level, or under -short (race
// detector, emulators) at the best level only.
func perLevel(t *testing.T, body func(t *testing.T)) {
	if testing.Short() {
		body(t)
		return
	}
	kerneltest.Run(t, body)
}

// caseParams are a model case's parameters.
type caseParams struct {
	Height    int `json:"height"`
	Width     int `json:"width"`
	PatchSize int `json:"patch_size"`
}

// checkCases runs every single-image case of f through models made by load
// (one per patch size) and compares features and logits with timm.
func checkCases(t *testing.T, f *golden.File, load func(t *testing.T, patch int) anyres.Model) {
	models := map[int]anyres.Model{}
	ran := 0
	for _, c := range f.Cases {
		var p caseParams
		c.Decode(t, &p)
		if p.Height == 0 || len(c.Inputs) != 1 || len(c.Outputs) != 2 {
			continue // not a single-image case (e.g. NaFlex's padded batch)
		}
		m := models[p.PatchSize]
		if m == nil {
			m = load(t, p.PatchSize)
			models[p.PatchSize] = m
			t.Cleanup(func() { m.Close() })
		}
		pix, shape := f.F32(t, c.Inputs[0])
		img := anyres.Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix}
		feats, _ := f.F32(t, c.Outputs[0])
		logits, _ := f.F32(t, c.Outputs[1])
		var out anyres.Output
		if err := m.Forward(img, &out); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if info := m.Info(); info.Prefix != out.Prefix || info.Width*(out.Prefix+out.Grid.N()) != len(out.Tokens) {
			t.Errorf("%s: Info says prefix %d, width %d; the output has %d prefix tokens, %d values for %d tokens",
				c.Name, info.Prefix, info.Width, out.Prefix, len(out.Tokens), out.Prefix+out.Grid.N())
		}
		golden.Close(t, c.Name+" features", out.Tokens, feats, 1e-4, 0)
		// A model without classes gives timm's pooled features as logits.
		got := out.Logits
		if m.Info().NumClasses == 0 {
			got = out.Pooled
		}
		golden.Close(t, c.Name+" logits", got, logits, 1e-4, 0)
		ran++
	}
	if ran == 0 {
		t.Fatal("no single-image case in the file")
	}
}

// TestFamilies runs each family's timm reference through anyres.Load of a
// hub folder, as a user with a downloaded checkpoint would.
func TestFamilies(t *testing.T) {
	for _, name := range familyGoldens {
		t.Run(strings.TrimSuffix(name, ".safetensors"), func(t *testing.T) {
			f := golden.Open(t, name)
			dir := golden.WriteHubFolder(t, f, t.TempDir())
			perLevel(t, func(t *testing.T) {
				checkCases(t, f, func(t *testing.T, patch int) anyres.Model {
					var opts anyres.Options
					if patch > 0 {
						opts.PatchSize = [2]int{patch, patch}
					}
					m, err := anyres.Load(dir, opts)
					if err != nil {
						t.Fatal(err)
					}
					return m
				})
			})
		})
	}
	for _, name := range ownConfigGoldens {
		t.Run(strings.TrimSuffix(name, ".safetensors"), func(t *testing.T) {
			f := golden.Open(t, name)
			perLevel(t, func(t *testing.T) {
				checkCases(t, f, func(t *testing.T, patch int) anyres.Model {
					m, err := anyres.Load(filepath.Join(golden.Dir(t), name), anyres.Options{Ignore: golden.NotWeight})
					if err != nil {
						t.Fatal(err)
					}
					return m
				})
			})
		})
	}
}

// TestUnknownTensor: a checkpoint with a tensor its architecture does not
// use is refused with the tensor's name, on every load path.
func TestUnknownTensor(t *testing.T) {
	f := golden.Open(t, "vit_clip_quickgelu.safetensors")
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	// Rewrite the weights with a q-norm, which anyres's ViT does not have.
	golden.AddTensor(t, filepath.Join(dir, "model.safetensors"), "blocks.0.attn.q_norm.weight", []int{16}, make([]float32, 16))
	_, err := anyres.Load(dir, anyres.Options{})
	if !errors.Is(err, anyres.ErrWeight) || !strings.Contains(err.Error(), `"blocks.0.attn.q_norm.weight"`) {
		t.Fatalf("got %v, want an error naming blocks.0.attn.q_norm.weight", err)
	}
}

// TestMissingTensor names the missing tensor and its expected shape.
func TestMissingTensor(t *testing.T) {
	f := golden.Open(t, "vit_dinov2_reg.safetensors")
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	gamma := fmt.Sprintf("blocks.%d.ls2.gamma", f.Blocks("blocks.")-1) // the last block's
	golden.RemoveTensor(t, filepath.Join(dir, "model.safetensors"), gamma)
	_, err := anyres.Load(dir, anyres.Options{})
	if want := f.Missing(t, gamma); !errors.Is(err, anyres.ErrWeight) || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want the missing tensor and its shape: %s", err, want)
	}
}

// TestUnknownArchitecture: a config.json naming an architecture no family
// runs is refused with the list of families.
func TestUnknownArchitecture(t *testing.T) {
	f := golden.Open(t, "vit_clip_quickgelu.safetensors")
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	cfg, _ := json.Marshal(map[string]any{"architecture": "resnet50"})
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := anyres.Load(dir, anyres.Options{})
	if !errors.Is(err, anyres.ErrUnknownModel) || !strings.Contains(err.Error(), "resnet50") {
		t.Fatalf("got %v", err)
	}
}

// TestClosed: forward passes after Close (on the model or a copy) fail
// cleanly instead of touching unmapped memory.
func TestClosed(t *testing.T) {
	f := golden.Open(t, "vit_siglip_map.safetensors")
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	m, err := anyres.Load(dir, anyres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	var out anyres.Output
	img := anyres.Image{C: 3, H: 32, W: 32, Pix: make([]float32, 3*32*32)}
	if err := m.Forward(img, &out); !errors.Is(err, anyres.ErrClosed) {
		t.Fatalf("forward after close: %v", err)
	}
}
