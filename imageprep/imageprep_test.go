package imageprep

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := encodeTo(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encodeTo(w io.Writer, img image.Image) error { return png.Encode(w, img) }

// gradient is a w×h image whose red grows along x, green along y, blue fixed.
func gradient(h, w int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{R: uint8(x * 255 / max(1, w-1)), G: uint8(y * 255 / max(1, h-1)), B: 77, A: 255})
		}
	}
	return img
}

func TestDecodePNGAndJPEG(t *testing.T) {
	src := gradient(20, 30)
	img, err := Decode(bytes.NewReader(encodePNG(t, src)))
	if err != nil {
		t.Fatal(err)
	}
	if got := img.Bounds().Size(); got != (image.Point{30, 20}) {
		t.Fatalf("PNG size %v, want 30×20", got)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, src, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	img, err = Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	x, err := ToImage(img, Identity)
	if err != nil {
		t.Fatal(err)
	}
	// JPEG is lossy: the gradient must survive to within a few levels.
	if v := x.At(2, 10, 15); math.Abs(float64(v)-77.0/255) > 0.03 {
		t.Errorf("JPEG blue channel %v, want about %v", v, 77.0/255)
	}
}

func TestDecodeRejectsBadInput(t *testing.T) {
	good := encodePNG(t, gradient(8, 8))
	for name, data := range map[string][]byte{
		"empty":     nil,
		"text":      []byte("hello, this is not an image"),
		"truncated": good[:len(good)/2],
		"header":    good[:20],
	} {
		if _, err := Decode(bytes.NewReader(data)); err == nil {
			t.Errorf("%s: Decode accepted it", name)
		}
	}
	// A PNG header that claims a huge image is refused before any pixel is allocated.
	huge := append([]byte(nil), good...)
	copy(huge[16:24], []byte{0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00}) // IHDR: 65536×65536
	binary.BigEndian.PutUint32(huge[29:33], crc32.ChecksumIEEE(huge[12:29]))
	if _, err := Decode(bytes.NewReader(huge)); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("huge PNG: err = %v, want the pixel limit", err)
	}
}

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.png")
	if err := os.WriteFile(p, encodePNG(t, gradient(5, 7)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.png")); err == nil {
		t.Error("Load of a missing file succeeded")
	}
}

func TestToImageNormalises(t *testing.T) {
	img := image.NewNRGBA(image.Rect(3, 4, 5, 5)) // 1×2, bounds not at the origin
	img.Set(3, 4, color.NRGBA{R: 255, G: 0, B: 51, A: 255})
	img.Set(4, 4, color.NRGBA{R: 10, G: 20, B: 30, A: 0}) // transparent: colour kept, as PIL's convert("RGB")
	x, err := ToImage(img, ImageNet)
	if err != nil {
		t.Fatal(err)
	}
	if x.C != 3 || x.H != 1 || x.W != 2 || len(x.Pix) != 6 {
		t.Fatalf("tensor %d×%d×%d with %d values, want 3×1×2", x.C, x.H, x.W, len(x.Pix))
	}
	want := func(v8 float64, c int) float64 {
		return (v8/255 - float64(ImageNet.Mean[c])) / float64(ImageNet.Std[c])
	}
	for _, tc := range []struct {
		c, x int
		v8   float64
	}{{0, 0, 255}, {1, 0, 0}, {2, 0, 51}, {0, 1, 10}, {1, 1, 20}, {2, 1, 30}} {
		if got := x.At(tc.c, 0, tc.x); math.Abs(float64(got)-want(tc.v8, tc.c)) > 1e-6 {
			t.Errorf("channel %d pixel %d = %v, want %v", tc.c, tc.x, got, want(tc.v8, tc.c))
		}
	}
}

func TestToImageGray(t *testing.T) {
	img := image.NewGray(image.Rect(0, 0, 3, 2))
	img.SetGray(1, 1, color.Gray{Y: 128})
	x, err := ToImage(img, Identity)
	if err != nil {
		t.Fatal(err)
	}
	for c := range 3 {
		if got := x.At(c, 1, 1); got != 128.0/255 {
			t.Errorf("channel %d = %v, want %v", c, got, 128.0/255)
		}
	}
}

func TestToImageRejectsBadNorm(t *testing.T) {
	if _, err := ToImage(gradient(2, 2), Norm{}); err == nil {
		t.Error("zero std accepted")
	}
	if _, err := ToImage(gradient(2, 2), Norm{Mean: [3]float32{float32(math.NaN()), 0, 0}, Std: [3]float32{1, 1, 1}}); err == nil {
		t.Error("NaN mean accepted")
	}
}

func TestResize(t *testing.T) {
	// A constant image stays constant whatever the scale.
	flat := image.NewRGBA(image.Rect(0, 0, 37, 23))
	for i := range flat.Pix {
		flat.Pix[i] = 200
		if i%4 == 3 {
			flat.Pix[i] = 255
		}
	}
	for _, s := range []Size{{5, 9}, {23, 37}, {64, 100}, {1, 1}} {
		r, err := Resize(flat, s.H, s.W)
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Bounds().Size(); got != (image.Point{s.W, s.H}) {
			t.Fatalf("resize to %v gave %v", s, got)
		}
		x, _ := ToImage(r, Identity)
		for i, v := range x.Pix {
			if math.Abs(float64(v)-200.0/255) > 1e-4 {
				t.Fatalf("resize to %v: value %d = %v, want %v", s, i, v, 200.0/255)
			}
		}
	}
	// Shrinking a 1-pixel checkerboard 8 times is antialiased: every output is
	// close to the mean grey (a point sampler would give black or white).
	check := image.NewGray(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			check.SetGray(x, y, color.Gray{Y: uint8(255 * ((x + y) % 2))})
		}
	}
	r, err := Resize(check, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := ToImage(r, Identity)
	for i, v := range x.Pix {
		if math.Abs(float64(v)-0.5) > 0.05 {
			t.Fatalf("antialiased checkerboard value %d = %v, want about 0.5", i, v)
		}
	}
	if _, err := Resize(flat, 0, 4); err == nil {
		t.Error("resize to 0×4 accepted")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]Size{"384x512": {384, 512}, "224": {224, 224}, "97×333": {97, 333}, " 10,20 ": {10, 20}} {
		got, err := ParseSize(in)
		if err != nil || got != want {
			t.Errorf("ParseSize(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "0x5", "-3x4", "3x4x5", "axb", "100000x100000"} {
		if _, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) accepted it", in)
		}
	}
}

func TestBudgetSize(t *testing.T) {
	for _, tc := range []struct {
		h, w, patch, tokens int
		want                Size
	}{
		{224, 224, 16, 196, Size{224, 224}},
		{1000, 1000, 16, 200, Size{14 * 16, 14 * 16}}, // 196 ≤ 200, and square
		{480, 640, 16, 256, Size{14 * 16, 18 * 16}},   // 14×18 = 252 at 4:3 (3:4 grid 13.9×18.5)
		{640, 480, 14, 100, Size{11 * 14, 8 * 14}},    // 88: 11×9 would be off 3:4 by more than half a patch
		{10, 4000, 16, 64, Size{16, 64 * 16}},         // too wide: one row of 64
		{4000, 10, 16, 64, Size{64 * 16, 16}},         // too tall: one column
		{32, 32, 16, 1024, Size{32 * 16, 32 * 16}},    // small images are upscaled
		{100, 300, 16, 1, Size{16, 16}},               // a single token
	} {
		got, err := BudgetSize(tc.h, tc.w, tc.patch, tc.tokens)
		if err != nil || got != tc.want {
			t.Errorf("BudgetSize(%d, %d, %d, %d) = %v, %v; want %v", tc.h, tc.w, tc.patch, tc.tokens, got, err, tc.want)
		}
		if g := (got.H / tc.patch) * (got.W / tc.patch); g > tc.tokens {
			t.Errorf("BudgetSize(%d, %d, %d, %d): grid of %d tokens", tc.h, tc.w, tc.patch, tc.tokens, g)
		}
	}
	for _, bad := range [][4]int{{0, 5, 16, 10}, {5, 5, 0, 10}, {5, 5, 16, 0}, {5, 5, 16, MaxTokens + 1}} {
		if _, err := BudgetSize(bad[0], bad[1], bad[2], bad[3]); err == nil {
			t.Errorf("BudgetSize%v accepted it", bad)
		}
	}
}

func TestPrepare(t *testing.T) {
	img := gradient(40, 60)
	x, err := Prepare(img, Options{Norm: ImageNet, Patch: 16})
	if err != nil || x.H != 40 || x.W != 60 {
		t.Fatalf("native: %v, %v", x, err)
	}
	x, err = Prepare(img, Options{Size: Size{32, 48}, Norm: ImageNet})
	if err != nil || x.H != 32 || x.W != 48 {
		t.Fatalf("size: %v, %v", x, err)
	}
	x, err = Prepare(img, Options{Tokens: 6, Patch: 16, Norm: ImageNet})
	if err != nil || x.H != 32 || x.W != 48 {
		t.Fatalf("tokens: %v, %v", x, err)
	}
	for name, o := range map[string]Options{
		"both":          {Size: Size{32, 32}, Tokens: 4, Patch: 16, Norm: ImageNet},
		"no patch":      {Tokens: 4, Norm: ImageNet},
		"small target":  {Size: Size{8, 64}, Patch: 16, Norm: ImageNet},
		"zero norm":     {},
		"negative size": {Size: Size{-1, 4}, Norm: ImageNet},
	} {
		if _, err := Prepare(img, o); err == nil {
			t.Errorf("%s: Prepare accepted it", name)
		}
	}
	if _, err := Prepare(gradient(10, 60), Options{Patch: 16, Norm: ImageNet}); err == nil || !strings.Contains(err.Error(), "smaller than one") {
		t.Errorf("image smaller than a patch: err = %v", err)
	}
}

func TestNormFromConfig(t *testing.T) {
	n, ok, err := NormFromConfig([]byte(`{"architecture": "vit_base_patch16_224", "pretrained_cfg": {"mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}`))
	if err != nil || !ok || n != Inception {
		t.Errorf("pretrained_cfg: %v %v %v", n, ok, err)
	}
	n, ok, err = NormFromConfig([]byte(`{"mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}`))
	if err != nil || !ok || n != ImageNet {
		t.Errorf("top level: %v %v %v", n, ok, err)
	}
	if _, ok, err := NormFromConfig([]byte(`{"family": "vit"}`)); ok || err != nil {
		t.Errorf("no mean: ok %v err %v", ok, err)
	}
	for _, bad := range []string{`{"mean": [1, 2], "std": [1, 1]}`, `{"mean": [0, 0, 0], "std": [0, 1, 1]}`, `{`} {
		if _, _, err := NormFromConfig([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	for _, name := range []string{"imagenet", "inception", "clip", "none"} {
		if _, err := NormByName(name); err != nil {
			t.Error(err)
		}
	}
	if _, err := NormByName("imagenette"); err == nil {
		t.Error("unknown name accepted")
	}
}
