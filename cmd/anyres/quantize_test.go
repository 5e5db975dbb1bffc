package main

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
)

func forwardTiny(t *testing.T, path, dtype string) anyres.Output {
	t.Helper()
	m, err := anyres.Load(path, anyres.Options{DType: dtype})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var out anyres.Output
	if err := m.Forward(anyres.Image{C: 3, H: 64, W: 48, Pix: tinyPixels()}, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// tinyPixels is forwardTiny's 3×64×48 input.
func tinyPixels() []float32 {
	pix := make([]float32, 3*64*48)
	for i := range pix {
		pix[i] = float32(math.Sin(float64(i)*0.37)) * 1.5
	}
	return pix
}

func cos(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// TestQuantizedCheckpointLoads: an int8 checkpoint holds I8 weights with
// F32 scales, loads at f32 close to the original, and at int8 gives the
// same bits as quantizing the float32 file at load time; a bf16 one loads
// too, closer still.
func TestQuantizedCheckpointLoads(t *testing.T) {
	dir := t.TempDir()
	src := tinyModel(t)
	q8, bf := filepath.Join(dir, "q8.safetensors"), filepath.Join(dir, "bf16.safetensors")
	if err := runQuantize([]string{"-in", src, "-out", q8, "-dtype", "int8"}); err != nil {
		t.Fatal(err)
	}
	if err := runQuantize([]string{"-in", src, "-out", bf, "-dtype", "bf16"}); err != nil {
		t.Fatal(err)
	}
	f, err := tensorfile.Open(q8)
	if err != nil {
		t.Fatal(err)
	}
	if d := f.DType("blocks.0.attn.qkv.weight"); d != "I8" {
		t.Errorf("qkv weight stored as %s, want I8", d)
	}
	if d := f.DType("blocks.0.attn.qkv.weight_scale"); d != "F32" {
		t.Errorf("qkv scales stored as %s, want F32", d)
	}
	if d := f.DType("patch_embed.proj.weight"); d != "F32" {
		t.Errorf("patch embedding stored as %s, want F32 (kept)", d)
	}
	f.Close()

	ref := forwardTiny(t, src, "f32")
	for _, c := range []struct {
		path, dtype string
		min         float64
	}{{q8, "f32", 0.999}, {bf, "f32", 0.99999}} {
		got := forwardTiny(t, c.path, c.dtype)
		if s := cos(ref.Tokens, got.Tokens); s < c.min {
			t.Errorf("%s at %s: features cosine %.6f < %v", filepath.Base(c.path), c.dtype, s, c.min)
		}
	}
	a, b := forwardTiny(t, src, "int8"), forwardTiny(t, q8, "int8")
	for i := range a.Tokens {
		if math.Float32bits(a.Tokens[i]) != math.Float32bits(b.Tokens[i]) {
			t.Fatalf("int8 from the int8 file differs from int8 quantized at load: feature %d: %v vs %v", i, b.Tokens[i], a.Tokens[i])
		}
	}
	if err := runQuantize([]string{"-in", q8, "-out", filepath.Join(dir, "again.safetensors")}); err == nil || !strings.Contains(err.Error(), "no 2-D float") {
		t.Errorf("quantizing a quantized file: %v", err)
	}
}

// TestRunDType: -dtype reaches the model (int8 and bf16 print classes
// close to, but not always the same as, float32), and a bad one is refused.
func TestRunDType(t *testing.T) {
	dir := t.TempDir()
	photo := writePhoto(t, dir, 64, 48)
	for _, d := range []string{"int8", "bf16"} {
		if _, err := runCaptured(t, "-weights", tinyModel(t), "-image", photo, "-dtype", d, "-keep-f32", "head"); err != nil {
			t.Errorf("-dtype %s: %v", d, err)
		}
	}
	if _, err := runCaptured(t, "-weights", tinyModel(t), "-image", photo, "-dtype", "int4"); err == nil || !strings.Contains(err.Error(), "int4") {
		t.Errorf("-dtype int4: %v, want an error naming it", err)
	}
}

// TestDamagedInt8Checkpoint: int8 weights without their scales, with
// scales of the wrong shape or value, or an int8 tensor that is not 2-D,
// are load errors naming the tensor, never panics.
func TestDamagedInt8Checkpoint(t *testing.T) {
	dir := t.TempDir()
	q8 := filepath.Join(dir, "q8.safetensors")
	if err := runQuantize([]string{"-in", tinyModel(t), "-out", q8, "-dtype", "int8"}); err != nil {
		t.Fatal(err)
	}
	f, err := tensorfile.Open(q8)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const w = "blocks.0.mlp.fc1.weight"
	shape, _ := f.Shape(w)
	for _, c := range []struct {
		name   string
		edit   func(m map[string]tensorout.Tensor)
		expect string
	}{
		{"no scales", func(m map[string]tensorout.Tensor) { delete(m, w+"_scale") }, w + "_scale"},
		{"scales of the wrong shape", func(m map[string]tensorout.Tensor) {
			m[w+"_scale"] = tensorout.F32([]int{shape[0] + 1}, make([]float32, shape[0]+1))
		}, w + "_scale"},
		{"a NaN scale", func(m map[string]tensorout.Tensor) {
			s := make([]float32, shape[0])
			s[3] = float32(math.NaN())
			m[w+"_scale"] = tensorout.F32([]int{shape[0]}, s)
		}, w + "_scale"},
		{"a 1-D int8 tensor", func(m map[string]tensorout.Tensor) {
			m["blocks.0.norm1.weight"] = tensorout.I8([]int{shape[1]}, make([]int8, shape[1]))
		}, "blocks.0.norm1.weight"},
	} {
		data, err := os.ReadFile(q8)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := safetensors.Deserialize(data)
		if err != nil {
			t.Fatal(err)
		}
		tensors := map[string]tensorout.Tensor{}
		for _, nv := range raw.Tensors() {
			tensors[nv.Name] = tensorout.Raw(nv.TensorView)
		}
		c.edit(tensors)
		path := filepath.Join(dir, "bad.safetensors")
		if err := tensorout.WriteSafetensorsFile(path, tensors, f.Metadata()); err != nil {
			t.Fatal(err)
		}
		for _, d := range []string{"f32", "int8"} {
			_, err := anyres.Load(path, anyres.Options{DType: d})
			if !errors.Is(err, anyres.ErrWeight) || !strings.Contains(err.Error(), c.expect) {
				t.Errorf("%s, dtype %s: %v, want ErrWeight naming %s", c.name, d, err, c.expect)
			}
		}
	}
}

// TestQuantizedCheckpointEveryFamily: `anyres quantize` on every golden
// model file (every family): the int8 file (8-bit weights, or 7-bit with
// -reduce-range) run at int8 gives the bits of quantizing the float32 file
// at load time (with Options.ReduceRange for the 7-bit one) (the stored values packed as
// they are, EVA's separate q/k/v and SwiGLU's fc1_g/fc1_x stacked),
// and the bf16 file at bf16 those of rounding at load, except where a
// LayerScale is folded into a layer (the stored values are scaled and
// rounded again): then features cosine ≥ 0.9999 to it.
func TestQuantizedCheckpointEveryFamily(t *testing.T) {
	models := golden.Models(t)
	if len(models) == 0 {
		t.Fatal("no golden model files")
	}
	for _, name := range models {
		t.Run(strings.TrimSuffix(name, ".safetensors"), func(t *testing.T) {
			f := golden.Open(t, name)
			var imgs []anyres.Image
			for _, c := range f.Cases {
				if len(c.Inputs) == 1 && strings.HasPrefix(c.Inputs[0], "in_") {
					pix, shape := f.F32(t, c.Inputs[0])
					imgs = append(imgs, anyres.Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix})
				}
			}
			if len(imgs) == 0 {
				t.Fatal("no image input")
			}
			// src: the float32 checkpoint as a user holds it (a hub folder,
			// or the file with its own config metadata).
			src, weights, opts := filepath.Join(golden.Dir(t), name), "", anyres.Options{}
			if f.HasHub() {
				src = golden.WriteHubFolder(t, f, t.TempDir())
				weights = filepath.Join(src, "model.safetensors")
			} else {
				weights, opts.Ignore = src, golden.NotWeight
			}
			layerScale := false
			for _, n := range f.Names() {
				layerScale = layerScale || strings.Contains(n, "gamma")
			}
			for _, v := range []struct {
				dtype       string
				reduceRange bool
			}{{"int8", false}, {"int8", true}, {"bf16", false}} {
				dtype := v.dtype
				dst := t.TempDir()
				out := filepath.Join(dst, "model.safetensors")
				args := []string{"-in", weights, "-out", out, "-dtype", dtype}
				if v.reduceRange {
					dtype += " -reduce-range"
					args = append(args, "-reduce-range")
				}
				if err := runQuantize(args); err != nil {
					t.Fatal(err)
				}
				qpath := out
				if f.HasHub() {
					cfg, err := os.ReadFile(filepath.Join(src, "config.json"))
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(dst, "config.json"), cfg, 0o644); err != nil {
						t.Fatal(err)
					}
					qpath = dst
				}
				o := opts
				o.DType, o.ReduceRange = v.dtype, v.reduceRange
				ref, err := anyres.Load(src, o)
				if err != nil {
					t.Fatal(err)
				}
				q, err := anyres.Load(qpath, o)
				if err != nil {
					t.Fatal(err)
				}
				var worst float64 = 1
				same := true
				for _, img := range imgs {
					var a, b anyres.Output
					if err := ref.Forward(img, &a); err != nil {
						t.Fatal(err)
					}
					if err := q.Forward(img, &b); err != nil {
						t.Fatal(err)
					}
					for i := range a.Tokens {
						same = same && math.Float32bits(a.Tokens[i]) == math.Float32bits(b.Tokens[i])
					}
					worst = min(worst, cos(a.Tokens, b.Tokens))
				}
				ref.Close()
				q.Close()
				t.Logf("%s file at %s vs %s at load: identical %v, features cosine ≥ %.6f", dtype, dtype, dtype, same, worst)
				if !same && !layerScale {
					t.Errorf("%s: the quantized file runs other bits than quantizing at load (cosine %.6f)", dtype, worst)
				}
				if worst < 0.9999 {
					t.Errorf("%s: features cosine %.6f to quantizing at load < 0.9999", dtype, worst)
				}
			}
		})
	}
}

// TestReduceRange: `anyres quantize -reduce-range` stores every int8
// weight within ±64 and says so in its metadata; the file runs the same
// with and without -reduce-range (its stored values are the model). Refused
// with a clear error: -reduce-range with bf16 (quantize) or f32 (run), and
// a checkpoint quantized to 8 bits loaded with it (naming a tensor).
func TestReduceRange(t *testing.T) {
	dir := t.TempDir()
	src := tinyModel(t)
	q7, q8 := filepath.Join(dir, "q7.safetensors"), filepath.Join(dir, "q8.safetensors")
	if err := runQuantize([]string{"-in", src, "-out", q7, "-dtype", "int8", "-reduce-range"}); err != nil {
		t.Fatal(err)
	}
	if err := runQuantize([]string{"-in", src, "-out", q8, "-dtype", "int8"}); err != nil {
		t.Fatal(err)
	}
	f, err := tensorfile.Open(q7)
	if err != nil {
		t.Fatal(err)
	}
	int8s := 0
	for _, n := range f.Names() {
		if f.DType(n) != "I8" {
			continue
		}
		int8s++
		q, _, err := f.Int8(n)
		if err != nil {
			t.Fatal(err)
		}
		widest := 0
		for _, v := range q {
			widest = max(widest, int(v), -int(v))
		}
		if widest != 64 {
			t.Errorf("%s: largest |value| %d, want 64", n, widest)
		}
	}
	if meta := f.Metadata()["anyres_quantize"]; !strings.Contains(meta, "max|w|/64") {
		t.Errorf("metadata anyres_quantize %q does not give the 7-bit scale", meta)
	}
	f.Close()
	if int8s == 0 {
		t.Fatal("no int8 weight written")
	}
	a := forwardTiny(t, q7, "int8")
	m, err := anyres.Load(q7, anyres.Options{DType: "int8", ReduceRange: true})
	if err != nil {
		t.Fatal(err)
	}
	var b anyres.Output
	err = m.Forward(anyres.Image{C: 3, H: 64, W: 48, Pix: tinyPixels()}, &b)
	m.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Tokens {
		if math.Float32bits(a.Tokens[i]) != math.Float32bits(b.Tokens[i]) {
			t.Fatalf("the 7-bit file with ReduceRange: feature %d %v, without %v", i, b.Tokens[i], a.Tokens[i])
		}
	}
	if err := runQuantize([]string{"-in", src, "-out", filepath.Join(dir, "bf.safetensors"), "-dtype", "bf16", "-reduce-range"}); err == nil || !strings.Contains(err.Error(), "-reduce-range") {
		t.Errorf("quantize -dtype bf16 -reduce-range: %v, want an error naming the flag", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "bf.safetensors")); !os.IsNotExist(err) {
		t.Errorf("the refused quantize wrote its output (%v)", err)
	}
	if _, err := anyres.Load(q8, anyres.Options{DType: "int8", ReduceRange: true}); !errors.Is(err, anyres.ErrConfig) || !strings.Contains(err.Error(), ".weight") || !strings.Contains(err.Error(), "8 bits") {
		t.Errorf("an 8-bit int8 file with ReduceRange: %v, want ErrConfig naming a weight", err)
	}
	photo := writePhoto(t, dir, 64, 48)
	if _, err := runCaptured(t, "-weights", src, "-image", photo, "-reduce-range"); err == nil || !strings.Contains(err.Error(), "reduce range") {
		t.Errorf("run -reduce-range at f32: %v, want an error", err)
	}
	if _, err := runCaptured(t, "-weights", src, "-image", photo, "-dtype", "int8", "-reduce-range"); err != nil {
		t.Errorf("run -dtype int8 -reduce-range: %v", err)
	}
}
