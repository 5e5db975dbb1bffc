package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// TestRunTransformersFolders runs every transformers checkpoint of
// testdata/golden/hf through the command, from its folder, on every reference
// input (-input x.npy), at every kernel level, and compares what -out
// writes under transformers' own names with transformers' outputs.
func TestRunTransformersFolders(t *testing.T) {
	for _, dir := range golden.HFFolders(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			f := golden.OpenHF(t, dir)
			// -method names transformers' resizing rule for a learned
			// table; Swin has none and refuses it (an option that would
			// do nothing), as does a BEiT without an absolute table (its
			// relative bias is resized as transformers does by itself).
			args := []string{"-method", "transformers"}
			if f.HFBefore445(t) {
				args[1] = "transformers-4.44"
			}
			if !golden.HFHasTable(t, dir) {
				args = nil
			}
			body := func(t *testing.T) {
				for _, c := range f.Cases {
					x, shape := f.F32(t, c.Inputs[0])
					in := filepath.Join(t.TempDir(), "x.npy")
					if err := tensorout.WriteNPYFile(in, shape, x); err != nil {
						t.Fatal(err)
					}
					out := filepath.Join(t.TempDir(), "f.safetensors")
					if _, err := runCaptured(t, append([]string{"-weights", dir, "-input", in, "-out", out}, args...)...); err != nil {
						t.Fatalf("%s: %v", c.Name, err)
					}
					res, err := tensorfile.Open(out)
					if err != nil {
						t.Fatal(err)
					}
					compared := 0
					for _, o := range c.Outputs {
						kind := golden.HFKind(c, o)
						if !res.Has(kind) {
							continue // DeiT's per-head logits; Dinov2's classifier backbone pooler
						}
						got, _, err := res.Float32(kind)
						if err != nil {
							t.Fatal(err)
						}
						want, _ := f.F32(t, o)
						golden.Close(t, c.Name+" "+kind, got, want, 1e-4, 0)
						compared++
					}
					res.Close()
					if compared < 2 && len(c.Outputs) >= 2 {
						t.Errorf("%s: %d of the outputs %v written under transformers' names", c.Name, compared, c.Outputs)
					}
				}
			}
			if testing.Short() {
				body(t)
			} else {
				kerneltest.Run(t, body)
			}
		})
	}
}

// TestRunTransformersPhoto: on a photo, the folder's
// preprocessor_config.json makes the input (here DeiT's resize then center
// crop, ImageNet mean/std) and config.json's id2label names the classes.
func TestRunTransformersPhoto(t *testing.T) {
	dir := filepath.Join(golden.HFDir(t), "deit_distilled")
	photo := writePhoto(t, t.TempDir(), 45, 70)
	printed, err := runCaptured(t, "-weights", dir, "-image", photo, "-top", "7")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "preprocessor_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := imageprep.ParseProcessor(raw)
	if err != nil {
		t.Fatal(err)
	}
	img, err := imageprep.Load(photo)
	if err != nil {
		t.Fatal(err)
	}
	x, err := p.Prepare(img, imageprep.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if x.H != p.Crop.H || x.W != p.Crop.W {
		t.Fatalf("prepared %dx%d, want the crop %v", x.H, x.W, p.Crop)
	}
	m, err := anyres.Load(dir, anyres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var out anyres.Output
	if err := m.Forward(x, &out); err != nil {
		t.Fatal(err)
	}
	var want strings.Builder
	if err := printTop(&want, out.Logits, hubOf(mustRead(t, filepath.Join(dir, "config.json"))).Labels(len(out.Logits)), 7); err != nil {
		t.Fatal(err)
	}
	if printed != want.String() {
		t.Errorf("printed\n%s\nwant\n%s", printed, want.String())
	}
	var cfg struct {
		Labels map[string]string `json:"id2label"`
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(dir, "config.json")), &cfg); err != nil {
		t.Fatal(err)
	}
	named := false // some printed class is named as id2label names it
	for _, l := range cfg.Labels {
		named = named || strings.Contains(printed, l)
	}
	if len(cfg.Labels) == 0 || !named {
		t.Errorf("no class name from id2label %v in\n%s", cfg.Labels, printed)
	}
}

// TestRunTransformersBadProcessor: nonsense in preprocessor_config.json is
// an error naming the field.
func TestRunTransformersBadProcessor(t *testing.T) {
	src := filepath.Join(golden.HFDir(t), "vit_cls")
	photo := writePhoto(t, t.TempDir(), 40, 40)
	for _, c := range []struct {
		edit func(p map[string]any)
		want string
	}{
		{func(p map[string]any) { p["image_std"] = []any{0.5, 0, 0.5} }, "image_std[1]"},
		{func(p map[string]any) { p["size"] = map[string]any{"height": -32, "width": 32} }, "size.height"},
		{func(p map[string]any) { p["resample"] = 7 }, "resample"},
	} {
		dir := golden.CopyHF(t, src, nil)
		path := filepath.Join(dir, "preprocessor_config.json")
		var p map[string]any
		if err := json.Unmarshal(mustRead(t, path), &p); err != nil {
			t.Fatal(err)
		}
		c.edit(p)
		raw, _ := json.Marshal(p)
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := runCaptured(t, "-weights", dir, "-image", photo)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error naming %s", err, c.want)
		}
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestRunTransformersProjection: a CLIP model's head is a projection, not a
// classifier: run prints the embedding, not classes.
func TestRunTransformersProjection(t *testing.T) {
	photo := writePhoto(t, t.TempDir(), 40, 60)
	printed, err := runCaptured(t, "-weights", filepath.Join(golden.HFDir(t), "clip_full"), "-image", photo)
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ProjectionDim int `json:"projection_dim"`
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(golden.HFDir(t), "clip_full", "config.json")), &cfg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(printed, fmt.Sprintf("image_embeds of %d values", cfg.ProjectionDim)) || strings.Contains(printed, "class") {
		t.Errorf("printed %q, want the image embedding and no classes", printed)
	}
}
