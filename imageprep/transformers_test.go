package imageprep

import (
	"encoding/json"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestProcessorFiles reads every preprocessor_config.json under
// testdata/golden/hf (written by transformers' image processors) and checks what
// it makes of a photo against the file's own fields.
func TestProcessorFiles(t *testing.T) {
	paths, _ := filepath.Glob("../testdata/golden/hf/*/preprocessor_config.json")
	if len(paths) == 0 {
		t.Fatal("no preprocessor_config.json under ../testdata/golden/hf")
	}
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseProcessor(raw)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		// 8-bit value v becomes (v·r − mean)/std.
		var c struct {
			Mean, Std []float64
			R         float64
		}
		mustJSON(t, raw, map[string]any{"image_mean": &c.Mean, "image_std": &c.Std, "rescale_factor": &c.R})
		img := image.NewRGBA(image.Rect(0, 0, 50, 40)) // wider than high
		for i := range img.Pix {
			img.Pix[i] = uint8(i * 7)
		}
		x, err := p.Prepare(img, Limits{})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if got, want := (Size{H: x.H, W: x.W}), p.OutputSize(Size{H: 40, W: 50}); got != want {
			t.Errorf("%s: tensor %v, OutputSize %v", path, got, want)
		}
		if p.Crop == (Size{}) && p.ShortestEdge > 0 && x.H != p.ShortestEdge {
			t.Errorf("%s: shortest edge %d, got height %d", path, p.ShortestEdge, x.H)
		}
		for ch := range 3 {
			for _, v := range []float64{0, 128, 255} {
				got := (float32(v/255) - p.Norm.Mean[ch]) / p.Norm.Std[ch]
				want := (v*c.R - c.Mean[ch]) / c.Std[ch]
				if math.Abs(float64(got)-want) > 1e-5 {
					t.Errorf("%s: channel %d value %g → %g, want %g", path, ch, v, got, want)
				}
			}
		}
	}
}

func TestProcessorSizes(t *testing.T) {
	p, err := ParseProcessor([]byte(`{"size": {"shortest_edge": 36}, "do_center_crop": true, "crop_size": {"height": 32, "width": 30}, "image_mean": [0,0,0], "image_std": [1,1,1]}`))
	if err != nil {
		t.Fatal(err)
	}
	// transformers truncates the longer side: 36·75/50 = 54, 36·51/50 = 36.72 → 36.
	for _, c := range []struct{ src, want Size }{{Size{50, 75}, Size{36, 54}}, {Size{51, 50}, Size{36, 36}}, {Size{100, 10}, Size{360, 36}}} {
		if got := p.TargetSize(c.src); got != c.want {
			t.Errorf("TargetSize(%v) = %v, want %v", c.src, got, c.want)
		}
	}
	if got := p.OutputSize(Size{50, 75}); got != (Size{32, 30}) {
		t.Errorf("OutputSize = %v, want the crop", got)
	}
}

func TestProcessorErrors(t *testing.T) {
	for _, c := range []struct{ json, want string }{
		{`{"size": {"height": -3, "width": 4}, "image_mean": [0,0,0], "image_std": [1,1,1]}`, "size.height"},
		{`{"size": {"height": 4}, "image_mean": [0,0,0], "image_std": [1,1,1]}`, "size"},
		{`{"size": {"longest_edge": 4}, "image_mean": [0,0,0], "image_std": [1,1,1]}`, "size.longest_edge"},
		{`{"size": 8, "image_mean": [0,0,0], "image_std": [1,0,1]}`, "image_std[1]"},
		{`{"size": 8, "image_mean": [0,0], "image_std": [1,1,1]}`, "image_mean"},
		{`{"size": 8, "resample": 9, "image_mean": [0,0,0], "image_std": [1,1,1]}`, "resample"},
		{`{"size": 8, "rescale_factor": 0, "image_mean": [0,0,0], "image_std": [1,1,1]}`, "rescale_factor"},
		{`{"size": 8, "do_center_crop": true, "crop_size": {"height": 0, "width": 4}, "image_mean": [0,0,0], "image_std": [1,1,1]}`, "crop_size.height"},
		{`{"do_resize": true, "image_mean": [0,0,0], "image_std": [1,1,1]}`, "size"},
		{`[1]`, "preprocessor_config.json"},
	} {
		_, err := ParseProcessor([]byte(c.json))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error naming %s", c.json, err, c.want)
		}
	}
}

func TestFilters(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 20, 10))
	for i := range img.Pix {
		img.Pix[i] = 200
		if i%4 == 3 {
			img.Pix[i] = 255
		}
	}
	for _, f := range []Filter{Bicubic, Bilinear, Nearest, Lanczos} {
		for _, s := range []Size{{5, 7}, {30, 41}} {
			r, err := Limits{}.ResizeFilter(img, s.H, s.W, f)
			if err != nil {
				t.Fatal(err)
			}
			// A flat image stays flat under every normalised filter
			// (the high byte of each 16-bit colour value).
			for i := 0; i < len(r.Pix); i += 2 {
				if i%8 < 6 && r.Pix[i] != 200 && r.Pix[i] != 199 {
					t.Fatalf("%v to %v: byte %d = %d, want 200", f, s, i, r.Pix[i])
				}
			}
		}
	}
	if _, err := PILFilter(4); err == nil {
		t.Error("PIL BOX: want an error")
	}
}

func mustJSON(t *testing.T, raw []byte, dst map[string]any) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for k, d := range dst {
		if v, ok := m[k]; ok {
			if err := json.Unmarshal(v, d); err != nil {
				t.Fatal(err)
			}
		}
	}
}
