package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/tensorfile"
)

func forwardTiny(t *testing.T, path, dtype string) anyres.Output {
	t.Helper()
	m, err := anyres.Load(path, anyres.Options{DType: dtype})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	pix := make([]float32, 3*64*48)
	for i := range pix {
		pix[i] = float32(math.Sin(float64(i)*0.37)) * 1.5
	}
	var out anyres.Output
	if err := m.Forward(anyres.Image{C: 3, H: 64, W: 48, Pix: pix}, &out); err != nil {
		t.Fatal(err)
	}
	return out
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
