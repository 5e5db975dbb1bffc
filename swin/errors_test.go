package swin

import (
	"errors"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/tensorfile"
)

// mapSource is a TensorSource over named tensors, for mis-shaped weights.
type mapSource struct {
	f       *tensorfile.File
	replace map[string][]int // name → shape it reports
	drop    string
}

func (s mapSource) Has(name string) bool { return name != s.drop && s.f.Has(name) }

func (s mapSource) Float32(name string) ([]float32, []int, error) {
	v, shape, err := s.f.Float32(name)
	if r, ok := s.replace[name]; ok {
		n := 1
		for _, d := range r {
			n *= d
		}
		return make([]float32, n), r, err
	}
	return v, shape, err
}

func TestWeightErrors(t *testing.T) {
	f, m := loadGolden(t, Options{})
	cfg := m.Config()
	for _, tc := range []struct {
		src  mapSource
		want string
	}{
		{mapSource{f: f.File, drop: "layers.1.downsample.reduction.weight"}, `"layers.1.downsample.reduction.weight" (shape [48 96]) is missing`},
		{mapSource{f: f.File, replace: map[string][]int{"layers.0.blocks.1.attn.relative_position_bias_table": {168, 2}}},
			`"layers.0.blocks.1.attn.relative_position_bias_table" has shape [168 2], want [169 2]`},
		{mapSource{f: f.File, replace: map[string][]int{"patch_embed.proj.weight": {24, 3, 16}}},
			`"patch_embed.proj.weight" has shape [24 3 16], want [24 3 4 4]`},
		{mapSource{f: f.File, replace: map[string][]int{"head.fc.weight": {10, 47}}}, `"head.fc.weight" has shape [10 47], want [10 48]`},
	} {
		_, err := New(cfg, tc.src, Options{})
		if !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want ErrWeight with %s", err, tc.want)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	f, m := loadGolden(t, Options{})
	for _, mod := range []func(c *Config){
		func(c *Config) { c.NumHeads = []int{2, 5} },
		func(c *Config) { c.Depths = nil; c.NumHeads = nil },
		func(c *Config) { c.WindowSize = [2]int{0, 7} },
		func(c *Config) { c.PatchSize = [2]int{4, 0} },
		func(c *Config) { c.NormEps = 0 },
		func(c *Config) { c.GlobalPool = "max" },
		func(c *Config) { c.ImgSize = [2]int{2, 224} },
	} {
		c := m.Config()
		c.Depths, c.NumHeads = append([]int(nil), c.Depths...), append([]int(nil), c.NumHeads...)
		mod(&c)
		if _, err := New(c, f.File, Options{}); !errors.Is(err, ErrConfig) {
			t.Errorf("config %+v: got %v, want ErrConfig", c, err)
		}
	}
	if _, err := ParseConfig([]byte("{")); !errors.Is(err, ErrConfig) {
		t.Errorf("bad JSON: got %v", err)
	}
}

func TestImageErrors(t *testing.T) {
	_, m := loadGolden(t, Options{MaxTokens: 1000})
	img := func(c, h, w int) Image { return Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)} }
	for _, tc := range []struct {
		img  Image
		want error
	}{
		{img(1, 32, 32), ErrImage},
		{img(3, 2, 32), ErrImage},
		{img(3, 0, 0), ErrImage},
		{img(3, 33, 32), ErrImage},
		{Image{C: 3, H: 32, W: 32, Pix: make([]float32, 10)}, ErrImage},
		{img(3, 256, 256), ErrTooManyTokens},
		{Image{C: 3, H: -4, W: 8}, ErrImage},
		{Image{C: 3, H: 1 << 20, W: 8}, ErrImage},
	} {
		var out Output
		if err := m.Forward(tc.img, &out); !errors.Is(err, tc.want) {
			t.Errorf("%d×%d×%d: got %v, want %v", tc.img.C, tc.img.H, tc.img.W, err, tc.want)
		}
	}
	// The smallest image: one patch, padded to one window in both stages.
	var out Output
	if err := m.Forward(img(3, 4, 4), &out); err != nil || out.FeatH != 1 || out.FeatW != 1 {
		t.Errorf("4×4: %v, grid %d×%d", err, out.FeatH, out.FeatW)
	}
	m.Close()
	if err := m.Forward(img(3, 32, 32), &out); err == nil {
		t.Error("closed model ran")
	}
}

// TestStageWindow checks timm's build-time window and shift per stage.
func TestStageWindow(t *testing.T) {
	c := Config{PatchSize: [2]int{4, 4}, EmbedDim: 8, Depths: []int{2, 2, 2, 2}, NumHeads: []int{1, 1, 1, 1},
		WindowSize: [2]int{7, 7}, NormEps: 1e-5, GlobalPool: "avg"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	want := [][2][2]int{{{7, 7}, {3, 3}}, {{7, 7}, {3, 3}}, {{7, 7}, {3, 3}}, {{7, 7}, {0, 0}}} // grids 56, 28, 14, 7
	for i, w := range want {
		if win, sh := c.StageWindow(i); win != w[0] || sh != w[1] {
			t.Errorf("224² stage %d: window %v shift %v, want %v %v", i, win, sh, w[0], w[1])
		}
	}
	c.ImgSize = [2]int{64, 224} // grids 16×56, 8×28, 4×14, 2×7
	want = [][2][2]int{{{7, 7}, {3, 3}}, {{7, 7}, {3, 3}}, {{4, 7}, {0, 3}}, {{2, 7}, {0, 0}}}
	for i, w := range want {
		if win, sh := c.StageWindow(i); win != w[0] || sh != w[1] {
			t.Errorf("64×224 stage %d: window %v shift %v, want %v %v", i, win, sh, w[0], w[1])
		}
	}
}

// TestImgSizeShift checks that a config whose second stage is one window
// at its img_size runs that stage unshifted: the results differ from the
// shifted default, and the first stage is untouched.
func TestImgSizeShift(t *testing.T) {
	f, m := loadGolden(t, Options{})
	c := m.Config()
	c.ImgSize = [2]int{56, 56} // stage 1 grid 7×7: window 7, shift 0
	m2, err := New(c, f.File, Options{})
	if err != nil {
		t.Fatal(err)
	}
	img := goldenImage(t, f, "224x224")
	var a, b Output
	if err := m.Forward(img, &a); err != nil {
		t.Fatal(err)
	}
	if err := m2.Forward(img, &b); err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(a.Features, b.Features); d < 1e-3 {
		t.Errorf("unshifted last stage changed the features by only %g", d)
	}
}
