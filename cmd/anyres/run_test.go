package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorfile"
)

// writePhoto writes an h×w PNG with a colourful pattern and returns its path.
func writePhoto(t testing.TB, dir string, h, w int) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: uint8(x * 7), G: uint8(y * 5), B: uint8((x * y) % 251), A: 255})
		}
	}
	p := filepath.Join(dir, "photo.png")
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// runCaptured runs `anyres run` with args and returns what it printed.
func runCaptured(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var buf bytes.Buffer
	old := stdout
	stdout = &buf
	defer func() { stdout = old }()
	err := runRun(args)
	return buf.String(), err
}

// reference runs the model directly on the photo, prepared the same way.
func reference(t *testing.T, weights, photo string, o imageprep.Options) anyres.Output {
	t.Helper()
	return referenceWith(t, weights, photo, anyres.Options{}, o)
}

func referenceWith(t *testing.T, weights, photo string, lo anyres.Options, o imageprep.Options) anyres.Output {
	t.Helper()
	m, err := anyres.Load(weights, lo)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	img, err := imageprep.Load(photo)
	if err != nil {
		t.Fatal(err)
	}
	x, err := imageprep.Prepare(img, o)
	if err != nil {
		t.Fatal(err)
	}
	var out anyres.Output
	if err := m.Forward(x, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRunPrintsTopClasses(t *testing.T) {
	dir := t.TempDir()
	photo := writePhoto(t, dir, 200, 300)
	labels := filepath.Join(dir, "labels.txt")
	os.WriteFile(labels, []byte("cat\ndog\nbird\nfish\nfox\nowl\nbee\nant\nelk\nyak\n"), 0o644)
	weights := tinyModel(t)
	got, err := runCaptured(t, "-weights", weights, "-image", photo, "-size", "224x224", "-labels", labels, "-top", "3")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 3 {
		t.Fatalf("printed %d lines, want 3:\n%s", len(lines), got)
	}
	ref := reference(t, weights, photo, imageprep.Options{Size: imageprep.Size{H: 224, W: 224}, Norm: imageprep.ImageNet})
	var want bytes.Buffer
	if err := printTop(&want, ref.Logits, []string{"cat", "dog", "bird", "fish", "fox", "owl", "bee", "ant", "elk", "yak"}, 3); err != nil {
		t.Fatal(err)
	}
	if got != want.String() {
		t.Errorf("printed\n%s\nwant\n%s", got, want.String())
	}
}

func TestPrintTop(t *testing.T) {
	var buf bytes.Buffer
	if err := printTop(&buf, []float32{0, float32(math.Log(3)), -100}, []string{"a", "b"}, 5); err != nil {
		t.Fatal(err)
	}
	want := " 1. class    1   75.00%  b\n 2. class    0   25.00%  a\n 3. class    2    0.00%\n"
	if buf.String() != want {
		t.Errorf("got\n%q\nwant\n%q", buf.String(), want)
	}
}

func TestRunWritesFeatures(t *testing.T) {
	dir := t.TempDir()
	photo := writePhoto(t, dir, 224, 224)
	weights := tinyModel(t)
	ref := reference(t, weights, photo, imageprep.Options{Norm: imageprep.Inception})

	st := filepath.Join(dir, "f.safetensors")
	if _, err := runCaptured(t, "-weights", weights, "-image", photo, "-norm", "inception", "-out", st); err != nil {
		t.Fatal(err)
	}
	f, err := tensorfile.Open(st)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, want := range map[string][]float32{"features": ref.Tokens, "pooled": ref.Pooled, "logits": ref.Logits} {
		got, _, err := f.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s[%d] = %v, want %v", name, i, got[i], want[i])
			}
		}
	}
	d := len(ref.Pooled)
	if s, _ := f.Shape("features"); len(s) != 3 || s[1] != len(ref.Tokens)/d || s[2] != d {
		t.Errorf("features shape %v, want [1 %d %d]", s, len(ref.Tokens)/d, d)
	}
	if g := f.Metadata()["grid"]; g != "[14, 14]" {
		t.Errorf("grid metadata %q", g)
	}

	npy := filepath.Join(dir, "f.npy")
	if _, err := runCaptured(t, "-weights", weights, "-image", photo, "-norm", "inception", "-out", npy, "-save", "pooled"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(npy)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b[:128], []byte(fmt.Sprintf("'shape': (1, %d), ", d))) || len(b) != 128+4*d {
		t.Errorf("pooled .npy: header %q, %d bytes", b[:min(len(b), 128)], len(b))
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	weights := tinyModel(t)
	photo := writePhoto(t, dir, 224, 224)
	garbage := filepath.Join(dir, "garbage.png")
	os.WriteFile(garbage, []byte("\x89PNG\r\n\x1a\nthis is not really a png"), 0o644)
	tinyDir := filepath.Join(dir, "tiny")
	os.Mkdir(tinyDir, 0o755)
	tiny := writePhoto(t, tinyDir, 10, 10)
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no weights":      {[]string{"-image", photo}, "required"},
		"no image":        {[]string{"-weights", weights}, "required"},
		"unknown flag":    {[]string{"-weights", weights, "-image", photo, "-resolution", "4k"}, "not defined"},
		"malformed image": {[]string{"-weights", weights, "-image", garbage}, "malformed"},
		"image too small": {[]string{"-weights", weights, "-image", tiny}, "smaller than one 16x16 patch"},
		"size and tokens": {[]string{"-weights", weights, "-image", photo, "-size", "224", "-tokens", "196"}, "not both"},
		"bad edge":        {[]string{"-weights", weights, "-image", photo, "-edge", "wrap"}, "pad, crop or resize"},
		"bad out":         {[]string{"-weights", weights, "-image", photo, "-out", "x.csv"}, ".npy or .safetensors"},
		"bad save":        {[]string{"-weights", weights, "-image", photo, "-out", "x.npy", "-save", "all"}, "features, pooled or logits"},
		"bad norm":        {[]string{"-weights", weights, "-image", photo, "-norm", "fancy"}, "unknown normalisation"},
		"too many tokens": {[]string{"-weights", weights, "-image", photo, "-max-tokens", "100"}, "-tokens"},
		"missing weights": {[]string{"-weights", filepath.Join(dir, "none.safetensors"), "-image", photo}, "no such file"},
		"not a model":     {[]string{"-weights", garbage, "-image", photo}, "safetensors"},
		"bad config":      {[]string{"-weights", weights, "-image", photo, "-config", garbage}, "config"},
		"stray argument":  {[]string{"-weights", weights, "-image", photo, "photo2.png"}, "unexpected argument"},
	} {
		_, err := runCaptured(t, tc.args...)
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.want)) {
			t.Errorf("%s: err = %v, want one mentioning %q", name, err, tc.want)
		}
	}
}

func TestReadLabels(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "l.txt")
	os.WriteFile(p, []byte("tench\r\ngoldfish\r\n"), 0o644)
	if l, err := readLabels(p); err != nil || len(l) != 2 || l[1] != "goldfish" {
		t.Errorf("text labels %q, %v", l, err)
	}
	os.WriteFile(p, []byte(`["a", "b", "c"]`), 0o644)
	if l, err := readLabels(p); err != nil || len(l) != 3 {
		t.Errorf("JSON labels %q, %v", l, err)
	}
	os.WriteFile(p, []byte(`["a", 3]`), 0o644)
	if _, err := readLabels(p); err == nil {
		t.Error("bad JSON labels accepted")
	}
}

func imageprepInception() imageprep.Options { return imageprep.Options{Norm: imageprep.Inception} }

// At native size the photo keeps its own pixels: a 97×333 photo is a 7×21
// grid with padding, 6×20 with cropping, each what vit gives for the same
// input.
func TestRunNativeSize(t *testing.T) {
	dir := t.TempDir()
	photo := writePhoto(t, dir, 97, 333)
	weights := tinyModel(t)
	for _, tc := range []struct {
		edge string
		grid string
	}{{"pad", "[7, 21]"}, {"crop", "[6, 20]"}, {"resize", "[6, 21]"}} {
		out := filepath.Join(dir, tc.edge+".safetensors")
		if _, err := runCaptured(t, "-weights", weights, "-image", photo, "-size", "native", "-edge", tc.edge, "-out", out); err != nil {
			t.Fatal(err)
		}
		f, err := tensorfile.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		if g := f.Metadata()["grid"]; g != tc.grid {
			t.Errorf("%s: grid %s, want %s", tc.edge, g, tc.grid)
		}
		edge, _ := parseEdge(tc.edge)
		want := referenceWith(t, weights, photo, anyres.Options{Edge: edge}, imageprep.Options{Norm: imageprep.ImageNet})
		got, _, _ := f.Float32("features")
		golden.Close(t, tc.edge+" features", got, want.Tokens, 0, 0)
		f.Close()
	}
}

// A checkpoint rewritten for 384² by resize-checkpoint gives what the
// original gives at 384², where vit resamples the table itself (both with
// timm's defaults).
func TestResizedCheckpointRunsLikeTheOriginal(t *testing.T) {
	dir := t.TempDir()
	photo := writePhoto(t, dir, 300, 420)
	weights := tinyModel(t)
	resized := filepath.Join(dir, "r384.safetensors")
	if err := runResizeCheckpoint([]string{"-in", weights, "-out", resized, "-size", "384x384"}); err != nil {
		t.Fatal(err)
	}
	a, err := runCaptured(t, "-weights", weights, "-image", photo, "-size", "384x384", "-top", "10")
	if err != nil {
		t.Fatal(err)
	}
	b, err := runCaptured(t, "-weights", resized, "-image", photo, "-size", "384x384", "-top", "10")
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("original at 384²:\n%s\nresized checkpoint:\n%s", a, b)
	}
	for _, m := range []string{"bilinear", "fourier"} { // and the method reaches vit
		c, err := runCaptured(t, "-weights", weights, "-image", photo, "-size", "384x384", "-top", "10", "-method", m)
		if err != nil {
			t.Fatal(err)
		}
		if c == a {
			t.Errorf("-method %s printed the same as bicubic", m)
		}
	}
}

// tinyModel is the small test checkpoint (the weights of the
// vit_cls_learned reference with its config metadata, nothing else).
func tinyModel(t *testing.T) string {
	return filepath.Join(golden.Dir(t), "..", "models", "vit_tiny.safetensors")
}

// TestWarnFlip: -size is HxW; a size that turns a landscape photo into a
// portrait (or back) is warned about, one that keeps it (or a square) is not.
func TestWarnFlip(t *testing.T) {
	for _, c := range []struct {
		h, w   int
		size   imageprep.Size
		warned bool
	}{
		{333, 500, imageprep.Size{H: 500, W: 333}, true},
		{500, 333, imageprep.Size{H: 333, W: 500}, true},
		{333, 500, imageprep.Size{H: 224, W: 336}, false},
		{333, 500, imageprep.Size{H: 224, W: 224}, false},
		{300, 300, imageprep.Size{H: 200, W: 400}, false},
		{333, 500, imageprep.Size{}, false},
	} {
		var buf bytes.Buffer
		warnFlip(&buf, c.h, c.w, c.size)
		if got := buf.Len() > 0; got != c.warned {
			t.Errorf("%dx%d photo, -size %v: warned %v (%q), want %v", c.h, c.w, c.size, got, buf.String(), c.warned)
		}
		if c.warned && !strings.Contains(buf.String(), fmt.Sprintf("-size %dx%d keeps", c.size.W, c.size.H)) {
			t.Errorf("warning %q does not give the size that keeps the orientation", buf.String())
		}
	}
}
