package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/nn"
)

// calibrationModel writes a golden model as a user holds it and returns
// the weights file to quantize, what loads it (the file, or its hub
// folder), the options that load it, and the golden inputs.
func calibrationModel(t *testing.T, name string) (weights, load string, opts anyres.Options, imgs []anyres.Image) {
	t.Helper()
	f := golden.Open(t, name)
	for _, c := range f.Cases {
		if len(c.Inputs) == 1 && strings.HasPrefix(c.Inputs[0], "in_") {
			pix, shape := f.F32(t, c.Inputs[0])
			imgs = append(imgs, anyres.Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix})
		}
	}
	if len(imgs) == 0 {
		t.Fatal("no image input")
	}
	if f.HasHub() {
		dir := golden.WriteHubFolder(t, f, t.TempDir())
		return filepath.Join(dir, "model.safetensors"), dir, opts, imgs
	}
	weights = filepath.Join(t.TempDir(), "model.safetensors")
	golden.WriteWeights(t, f, weights)
	// The file's own config metadata, which WriteWeights leaves out.
	tf, err := tensorfile.Open(filepath.Join(golden.Dir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	meta := tf.Metadata()
	tf.Close()
	if err := rewriteMeta(weights, meta); err != nil {
		t.Fatal(err)
	}
	return weights, weights, opts, imgs
}

func rewriteMeta(path string, meta map[string]string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	raw, err := rawTensors(data)
	if err != nil {
		return err
	}
	keep := map[string]string{}
	for k, v := range meta {
		if k != "cases" {
			keep[k] = v
		}
	}
	return tensorout.WriteSafetensorsFile(path, raw, keep)
}

// writeCalibration writes the inputs as .npy tensors and one PNG photo
// into a new folder.
func writeCalibration(t *testing.T, imgs []anyres.Image) string {
	dir := t.TempDir()
	for i, img := range imgs {
		if err := tensorout.WriteNPYFile(filepath.Join(dir, "in"+string(rune('a'+i))+".npy"), []int{img.C, img.H, img.W}, img.Pix); err != nil {
			t.Fatal(err)
		}
	}
	writePhoto(t, dir, 60, 80)
	if err := os.WriteFile(filepath.Join(dir, "README.txt"), []byte("not an image"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestQuantizeCalibrate: -calibrate stores a range for every LayerNorm
// the int8 model folds (as many as the model reports through OnSmooth),
// the float32 function of the file is unchanged, and its int8 model keeps
// features cosine ≥ 0.999 to float32.
func TestQuantizeCalibrate(t *testing.T) {
	weights, load, opts, imgs := calibrationModel(t, "vit_dinov2_reg.safetensors")
	folded := map[string]bool{}
	o := opts
	o.DType, o.OnSmooth = nn.Int8, func(norm string, _ []float64, _ []string) { folded[norm] = true }
	if m, err := anyres.Load(load, o); err != nil {
		t.Fatal(err)
	} else {
		m.Close()
	}
	if len(folded) == 0 {
		t.Fatal("the int8 model folds no LayerNorm")
	}
	out := filepath.Join(t.TempDir(), "model.safetensors")
	if err := runQuantize([]string{"-in", weights, "-out", out, "-dtype", "int8", "-calibrate", writeCalibration(t, imgs)}); err != nil {
		t.Fatal(err)
	}
	qf, err := tensorfile.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	for norm := range folded {
		r, shape, err := qf.Float32(norm + nn.RangeSuffix)
		if err != nil {
			t.Errorf("%s: no calibrated range: %v", norm, err)
			continue
		}
		w, _, _ := qf.Float32(norm + ".weight")
		if len(shape) != 1 || len(r) != len(w) {
			t.Errorf("%s: range of shape %v for width %d", norm, shape, len(w))
		}
		for j, v := range r {
			if !(v > 0) || math.IsInf(float64(v), 0) {
				t.Errorf("%s: range %d is %g", norm, j, v)
				break
			}
		}
	}
	qf.Close()
	qload := out
	if load != weights { // a hub folder: the config beside the weights
		cfg, err := os.ReadFile(filepath.Join(load, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(filepath.Dir(out), "config.json"), cfg, 0o644); err != nil {
			t.Fatal(err)
		}
		qload = filepath.Dir(out)
	}
	ref, err := anyres.Load(load, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	f32, err := anyres.Load(qload, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer f32.Close()
	o = opts
	o.DType = nn.Int8
	q, err := anyres.Load(qload, o)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	for i, img := range imgs {
		var a, b, c anyres.Output
		for _, r := range []struct {
			m   anyres.Model
			out *anyres.Output
		}{{ref, &a}, {f32, &b}, {q, &c}} {
			if err := r.m.Forward(img, r.out); err != nil {
				t.Fatal(err)
			}
		}
		// The file's float32 weights are int8 values: compare the int8
		// file at float32 loosely, at int8 to the goal.
		t.Logf("input %d: features cosine to float32: file at f32 %.6f, at int8 %.6f", i, cos(a.Tokens, b.Tokens), cos(a.Tokens, c.Tokens))
		if c := cos(a.Tokens, c.Tokens); c < 0.999 {
			t.Errorf("input %d: int8 features cosine %.5f < 0.999", i, c)
		}
	}
}

// TestQuantizeCalibrateBadInput: bad calibration input is an error that
// names the file (or the folder, when it holds no image).
func TestQuantizeCalibrateBadInput(t *testing.T) {
	weights, _, _, imgs := calibrationModel(t, "vit_dinov2_reg.safetensors")
	img := imgs[0]
	out := filepath.Join(t.TempDir(), "q.safetensors")
	npy := func(dir, name string, shape []int, v []float32) string {
		p := filepath.Join(dir, name)
		if err := tensorout.WriteNPYFile(p, shape, v); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name string
		make func(dir string) string // returns what the error must name
	}{
		{"empty", func(dir string) string { return dir }},
		{"no images", func(dir string) string {
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)
			return dir
		}},
		{"NaN tensor", func(dir string) string {
			v := append([]float32(nil), img.Pix...)
			v[7] = float32(math.NaN())
			return npy(dir, "nan.npy", []int{img.C, img.H, img.W}, v)
		}},
		{"wrong channels", func(dir string) string {
			return npy(dir, "two.npy", []int{2, img.H, img.W}, img.Pix[:2*img.H*img.W])
		}},
		{"not a photo", func(dir string) string {
			p := filepath.Join(dir, "broken.png")
			os.WriteFile(p, []byte("not a png"), 0o644)
			return p
		}},
		{"non-finite activations", func(dir string) string {
			v := make([]float32, len(img.Pix))
			for i := range v {
				v[i] = 3e38
			}
			return npy(dir, "huge.npy", []int{img.C, img.H, img.W}, v)
		}},
	} {
		dir := t.TempDir()
		want := c.make(dir)
		err := runQuantize([]string{"-in", weights, "-out", out, "-dtype", "int8", "-calibrate", dir})
		t.Logf("%s: %v", c.name, err)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, want)
		}
	}
	if err := runQuantize([]string{"-in", weights, "-out", out, "-dtype", "bf16", "-calibrate", t.TempDir()}); err == nil {
		t.Error("-calibrate with bf16: no error")
	}
}
