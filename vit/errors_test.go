package vit

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/nn"
)

// sourceOf copies a file's weights (not its golden inputs and outputs) into
// a MapSource that tests can break.
func sourceOf(t *testing.T, f *golden.File) MapSource {
	src := MapSource{}
	for _, name := range f.Names() {
		if strings.HasPrefix(name, "in_") || strings.HasPrefix(name, "features_") || strings.HasPrefix(name, "logits_") {
			continue
		}
		v, shape := f.F32(t, name)
		src[name] = Tensor{Data: v, Shape: shape}
	}
	return src
}

func configOf(t *testing.T, f *golden.File) Config {
	c, err := ParseConfig([]byte(f.Metadata()["config"]))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWeightErrors(t *testing.T) {
	f := golden.Open(t, "vit_cls_learned.safetensors")
	cfg := configOf(t, f)
	d := cfg.EmbedDim
	if _, err := New(cfg, sourceOf(t, f), Options{}); err != nil {
		t.Fatalf("intact weights: %v", err)
	}
	last := fmt.Sprintf("blocks.%d.mlp.fc2.bias", cfg.Depth-1)
	src := sourceOf(t, f)
	delete(src, last)
	_, err := New(cfg, src, Options{})
	if !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), last) || !strings.Contains(err.Error(), fmt.Sprintf("[%d]", d)) {
		t.Errorf("missing weight: got %v", err)
	}
	src = sourceOf(t, f)
	w := src["blocks.0.attn.qkv.weight"]
	src["blocks.0.attn.qkv.weight"] = Tensor{Data: w.Data[:(3*d-1)*d], Shape: []int{3*d - 1, d}}
	_, err = New(cfg, src, Options{})
	if !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), fmt.Sprintf("[%d %d]", 3*d-1, d)) || !strings.Contains(err.Error(), fmt.Sprintf("[%d %d]", 3*d, d)) {
		t.Errorf("mis-shaped weight: got %v, want both shapes named", err)
	}
	src = sourceOf(t, f)
	rows := src["pos_embed"].Shape[1]
	src["pos_embed"] = Tensor{Data: src["pos_embed"].Data[:(rows-1)*d], Shape: []int{1, rows - 1, d}}
	if _, err = New(cfg, src, Options{}); !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), fmt.Sprintf("[1 %d %d]", rows, d)) {
		t.Errorf("short position table: got %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	f := golden.Open(t, "vit_cls_learned.safetensors")
	good := configOf(t, f)
	for name, breakIt := range map[string]func(*Config){
		"heads":      func(c *Config) { c.NumHeads = 7 },
		"dim":        func(c *Config) { c.EmbedDim = 0 },
		"patch":      func(c *Config) { c.PatchSize = [2]int{0, 16} },
		"pos":        func(c *Config) { c.PosEmbed = "rope" },
		"pool":       func(c *Config) { c.GlobalPool = "max" },
		"token pool": func(c *Config) { c.ClassToken = false },
		"eps":        func(c *Config) { c.NormEps = 0 },
		"act":        func(c *Config) { c.Act = "relu" },
		"huge depth": func(c *Config) { c.Depth = 1 << 20 },
	} {
		c := good
		breakIt(&c)
		if _, err := New(c, sourceOf(t, f), Options{}); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: got %v, want ErrConfig", name, err)
		}
	}
	if _, err := ParseConfig([]byte(`{"embed_dim": "wide"}`)); !errors.Is(err, ErrConfig) {
		t.Errorf("bad JSON: got %v", err)
	}
	// The JSON round trip keeps every field.
	b, err := good.JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseConfig(b)
	if err != nil || back != good {
		t.Errorf("round trip: got %+v, %v; want %+v", back, err, good)
	}
	// A file without config metadata (and no hub config) is refused.
	src, err := tensorfile.Parse(safetensorsWithoutMetadata())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(src, Options{}); !errors.Is(err, ErrConfig) {
		t.Errorf("no metadata: got %v", err)
	}
}

// safetensorsWithoutMetadata is a valid file with one tensor and no metadata.
func safetensorsWithoutMetadata() []byte {
	hdr := `{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`
	b := []byte{byte(len(hdr)), 0, 0, 0, 0, 0, 0, 0}
	return append(append(b, hdr...), 0, 0, 0, 0)
}

func TestImageErrors(t *testing.T) {
	_, m := loadGolden(t, "vit_cls_learned.safetensors", Options{MaxTokens: 200})
	p := m.PatchSize() // sizes in the file's patches
	var out Output
	for name, img := range map[string]Image{
		"smaller than a patch":  {C: 3, H: p[0] - 1, W: 200, Pix: make([]float32, 3*(p[0]-1)*200)},
		"narrower than a patch": {C: 3, H: 2 * p[0], W: p[1] / 2, Pix: make([]float32, 3*2*p[0]*(p[1]/2))},
		"one channel":           {C: 1, H: 32, W: 32, Pix: make([]float32, 32*32)},
		"short pixels":          {C: 3, H: 32, W: 32, Pix: make([]float32, 3*32*32-1)},
		"zero size":             {C: 3},
		"huge size":             {C: 3, H: nn.MaxSide + 1, W: nn.MaxSide + 1},
		"huge int32 size":       {C: 3, H: math.MaxInt32, W: math.MaxInt32},
		"negative":              {C: 3, H: -16, W: -16},
	} {
		if err := m.Forward(img, &out); !errors.Is(err, ErrImage) {
			t.Errorf("%s: got %v, want ErrImage", name, err)
		}
	}
	big := Image{C: 3, H: 14 * p[0], W: 15 * p[1], Pix: make([]float32, 3*14*p[0]*15*p[1])} // 1 + 14·15 = 211 tokens > 200
	if err := m.Forward(big, &out); !errors.Is(err, ErrTooManyTokens) {
		t.Errorf("over the cap: got %v", err)
	}
	two := Image{C: 3, H: 160, W: 160, Pix: make([]float32, 3*160*160)} // 101 tokens each
	if err := m.ForwardBatch([]Image{two, two}, make([]Output, 2)); !errors.Is(err, ErrTooManyTokens) {
		t.Errorf("packed over the cap: got %v", err)
	}
	if err := m.ForwardBatch([]Image{two}, nil); err == nil {
		t.Error("outputs of the wrong length: no error")
	}
	if err := m.ForwardBatch(nil, nil); err == nil {
		t.Error("no images: no error")
	}
}

func TestMalformedFiles(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string][]byte{
		"empty":     {},
		"short":     {1, 2, 3},
		"huge hdr":  {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"not json":  append([]byte{4, 0, 0, 0, 0, 0, 0, 0}, "{{{{"...),
		"truncated": goldenBytes(t, "vit_nope.safetensors")[:5000],
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if m, err := loadPath(p, Options{}); err == nil {
			m.Close()
			t.Errorf("%s: loaded", name)
		}
	}
	if _, err := loadPath(filepath.Join(dir, "absent"), Options{}); err == nil {
		t.Error("absent file: loaded")
	}
}

func goldenBytes(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join(golden.Dir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
