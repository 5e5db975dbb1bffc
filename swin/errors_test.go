package swin

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/nn"
)

// editSource is a golden file with one tensor dropped, reshaped, made
// non-finite, or one unknown tensor added.
type editSource struct {
	f       *golden.File
	drop    string
	reshape map[string][]int // name → the shape it reports (zeros)
	nan     string
	extra   string
}

func (s editSource) Has(name string) bool {
	return name == s.extra || (name != s.drop && s.f.Has(name))
}

func (s editSource) Float32(name string) ([]float32, []int, error) {
	if name == s.extra {
		return make([]float32, 4), []int{4}, nil
	}
	if r, ok := s.reshape[name]; ok {
		return make([]float32, nn.Product(r)), r, nil
	}
	v, shape, err := s.f.Float32(name)
	if name == s.nan && err == nil {
		v = slices.Clone(v)
		v[len(v)-1] = float32(math.NaN())
	}
	return v, shape, err
}

func (s editSource) Names() []string {
	var names []string
	for _, n := range s.f.Names() {
		if n != s.drop {
			names = append(names, n)
		}
	}
	if s.extra != "" {
		names = append(names, s.extra)
	}
	return names
}

// shapeOf is a tensor's shape in the golden file.
func shapeOf(t *testing.T, f *golden.File, name string) []int {
	t.Helper()
	s, err := f.Shape(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestWeightErrors: a missing, mis-shaped, non-finite or unknown tensor is
// an ErrWeight that names it (and the shapes), for v1 and V2.
func TestWeightErrors(t *testing.T) {
	for _, name := range goldens {
		t.Run(name, func(t *testing.T) {
			f, m := loadGolden(t, name, options{})
			cfg := m.Config()
			last := len(cfg.Depths) - 1
			red := fmt.Sprintf("layers.%d.downsample.reduction.weight", last)
			blk := fmt.Sprintf("layers.0.blocks.%d.", cfg.Depths[0]-1) // the first stage's last block
			bias := blk + "attn.relative_position_bias_table"
			if cfg.V2() {
				bias = blk + "attn.cpb_mlp.2.weight"
			}
			bs := shapeOf(t, f, bias)
			short := slices.Clone(bs)
			short[0]--
			ps := shapeOf(t, f, "patch_embed.proj.weight")
			hs := shapeOf(t, f, "head.fc.weight")
			for _, tc := range []struct {
				src  editSource
				want string
			}{
				{editSource{f: f, drop: red}, fmt.Sprintf("%q (shape %v) is missing", red, shapeOf(t, f, red))},
				{editSource{f: f, reshape: map[string][]int{bias: short}}, fmt.Sprintf("%q has shape %v, want %v", bias, short, bs)},
				{editSource{f: f, reshape: map[string][]int{"patch_embed.proj.weight": {ps[0], ps[1], ps[2] * ps[3]}}},
					fmt.Sprintf(`"patch_embed.proj.weight" has shape %v, want %v`, []int{ps[0], ps[1], ps[2] * ps[3]}, ps)},
				{editSource{f: f, reshape: map[string][]int{"head.fc.weight": {hs[0], hs[1] - 1}}},
					fmt.Sprintf(`"head.fc.weight" has shape %v, want %v`, []int{hs[0], hs[1] - 1}, hs)},
				{editSource{f: f, nan: "norm.weight"}, `"norm.weight" holds a non-finite value`},
				{editSource{f: f, extra: "layers.0.blocks.0.attn.k_bias"}, `"layers.0.blocks.0.attn.k_bias"`},
			} {
				_, err := newModel(cfg, tc.src, options{Ignore: golden.NotWeight})
				if !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("got %v, want ErrWeight with %s", err, tc.want)
				}
			}
			// Without Ignore, the reference images are tensors of no layer.
			if _, err := newModel(cfg, f, options{}); !errors.Is(err, ErrWeight) || !strings.Contains(err.Error(), "not part of the architecture") {
				t.Errorf("reference tensors accepted as weights: %v", err)
			}
			if _, err := newModel(cfg, editSource{f: f, nan: "norm.weight"}, options{Ignore: golden.NotWeight, AllowNonFinite: true}); err != nil {
				t.Errorf("AllowNonFinite: %v", err)
			}
			// Buffers that timm's checkpoint filter drops are not weights.
			if _, err := newModel(cfg, editSource{f: f, extra: blk + "attn.relative_position_index"}, options{Ignore: golden.NotWeight}); err != nil {
				t.Errorf("a saved relative_position_index buffer: %v", err)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	for _, name := range goldens {
		f, m := loadGolden(t, name, options{})
		for i, mod := range []func(c *Config){
			func(c *Config) { last := len(c.NumHeads) - 1; c.NumHeads[last] = c.StageDim(last) + 1 }, // never divides the stage's width
			func(c *Config) { c.Depths = nil; c.NumHeads = nil },
			func(c *Config) { c.WindowSize = [2]int{0, 7} },
			func(c *Config) { c.PatchSize = [2]int{4, 0} },
			func(c *Config) { c.NormEps = 0 },
			func(c *Config) { c.GlobalPool = "max" },
			func(c *Config) { c.GlobalPool = "" },
			func(c *Config) { c.ImgSize = [2]int{2, 224} },
			func(c *Config) { c.Version = 3 },
			func(c *Config) { c.PretrainedWindowSizes = make([]int, len(c.Depths)+1) }, // one too many (and v1 has none)
		} {
			c := m.Config()
			c.Depths, c.NumHeads = slices.Clone(c.Depths), slices.Clone(c.NumHeads)
			mod(&c)
			if _, err := newModel(c, f, options{Ignore: golden.NotWeight}); !errors.Is(err, ErrConfig) {
				t.Errorf("%s: config change %d: got %v, want ErrConfig", name, i, err)
			}
		}
		if _, err := newModel(m.Config(), f, options{Ignore: golden.NotWeight, Edge: nn.EdgeResize}); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: EdgeResize: got %v, want ErrConfig", name, err)
		}
	}
	if _, err := ParseConfig([]byte("{")); !errors.Is(err, ErrConfig) {
		t.Errorf("bad JSON: got %v", err)
	}
}

func TestImageErrors(t *testing.T) {
	_, m := loadGolden(t, goldenV1, options{MaxTokens: 1000})
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
	// A batch names the image at fault; the cap is on the whole batch.
	outs := make([]Output, 2)
	if err := m.ForwardBatch([]Image{img(3, 32, 32), img(1, 32, 32)}, outs); !errors.Is(err, ErrImage) || !strings.Contains(err.Error(), "image 1") {
		t.Errorf("bad second image: %v", err)
	}
	if err := m.ForwardBatch([]Image{img(3, 96, 96), img(3, 96, 96)}, outs); !errors.Is(err, ErrTooManyTokens) {
		t.Errorf("batch over the cap: %v", err)
	}
	if err := m.ForwardBatch(nil, nil); err == nil {
		t.Error("empty batch ran")
	}
	if err := m.ForwardBatch([]Image{img(3, 32, 32)}, outs); err == nil {
		t.Error("1 image, 2 outputs ran")
	}
	// The smallest image: one patch, padded to one window in both stages.
	var out Output
	if err := m.Forward(img(3, 4, 4), &out); err != nil || out.Grid.N() != 1 {
		t.Errorf("4×4: %v, grid %s", err, out.Grid)
	}
	m.Close()
	if err := m.Forward(img(3, 32, 32), &out); !errors.Is(err, ErrClosed) {
		t.Errorf("closed model: %v", err)
	}
}

// TestEdge: the crop policy runs the top-left whole patches; the pad
// policy the image padded with zeros to whole patches.
func TestEdge(t *testing.T) {
	f := golden.Open(t, goldenV2)
	cfg := goldenConfig(t, f)
	p := cfg.PatchSize
	crop, err := newModel(cfg, f, options{Ignore: golden.NotWeight, Edge: nn.EdgeCrop})
	if err != nil {
		t.Fatal(err)
	}
	pad, err := newModel(cfg, f, options{Ignore: golden.NotWeight, Edge: nn.EdgePad})
	if err != nil {
		t.Fatal(err)
	}
	src := goldenImage(t, f, f.Cases[0].Name)
	h, w := 5*p[0]+1, 7*p[1]+p[1]-1 // not whole patches
	sub := func(h, w int) Image {   // src's top-left h×w, zero past src
		out := Image{C: src.C, H: h, W: w, Pix: make([]float32, src.C*h*w)}
		for c := 0; c < src.C; c++ {
			for y := 0; y < min(h, src.H); y++ {
				copy(out.Pix[(c*h+y)*w:(c*h+y)*w+min(w, src.W)], src.Pix[(c*src.H+y)*src.W:])
			}
		}
		return out
	}
	var a, b Output
	for _, tc := range []struct {
		m      *Model
		h, w   int // the whole-patch image it must equal
		policy string
	}{{crop, h / p[0] * p[0], w / p[1] * p[1], "crop"}, {pad, (h + p[0] - 1) / p[0] * p[0], (w + p[1] - 1) / p[1] * p[1], "pad"}} {
		odd := sub(h, w)
		if err := tc.m.Forward(odd, &a); err != nil {
			t.Fatal(err)
		}
		whole := sub(tc.h, tc.w)
		if tc.policy == "pad" {
			whole = sub(tc.h, tc.w)
			for c := 0; c < src.C; c++ { // zero what lies past the odd image
				for y := 0; y < tc.h; y++ {
					for x := 0; x < tc.w; x++ {
						if y >= h || x >= w {
							whole.Pix[(c*tc.h+y)*tc.w+x] = 0
						}
					}
				}
			}
		}
		if err := tc.m.Forward(whole, &b); err != nil {
			t.Fatal(err)
		}
		if a.Grid != b.Grid || maxDiff(a.Tokens, b.Tokens) != 0 {
			t.Errorf("%s: %d×%d gives grid %s, %d×%d grid %s, tokens differ by %g", tc.policy, h, w, a.Grid, tc.h, tc.w, b.Grid, maxDiff(a.Tokens, b.Tokens))
		}
		if g := tc.m.Grid(h, w); g != a.Grid {
			t.Errorf("%s: Grid(%d, %d) = %s, forward %s", tc.policy, h, w, g, a.Grid)
		}
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

// TestImgSizeShift checks that a config whose last stage is one window at
// its img_size runs that stage unshifted (window kept, so the checkpoint
// still fits): the results differ from the default, v1 and V2.
func TestImgSizeShift(t *testing.T) {
	for _, name := range goldens {
		f, m := loadGolden(t, name, options{})
		c := m.Config()
		last := len(c.Depths) - 1
		if _, sh := c.StageWindow(last); c.Depths[last] < 2 || sh == ([2]int{}) {
			t.Logf("%s: the last stage has no shifted block to unshift", name)
			continue
		}
		c.ImgSize = [2]int{c.WindowSize[0] * c.PatchSize[0] << last, c.WindowSize[1] * c.PatchSize[1] << last}
		if w, sh := c.StageWindow(last); sh != [2]int{} || w != c.WindowSize {
			t.Fatalf("%s: img_size %v: last stage window %v shift %v", name, c.ImgSize, w, sh)
		}
		m2, err := newModel(c, f, options{Ignore: golden.NotWeight})
		if err != nil {
			t.Fatal(err)
		}
		img := goldenImage(t, f, f.Cases[0].Name)
		var a, b Output
		if err := m.Forward(img, &a); err != nil {
			t.Fatal(err)
		}
		if err := m2.Forward(img, &b); err != nil {
			t.Fatal(err)
		}
		if d := maxDiff(a.Tokens, b.Tokens); d < 1e-3 {
			t.Errorf("%s: unshifted last stage changed the features by only %g", name, d)
		}
	}
}

// TestLogitScale: V2's logit scale is exp of the parameter, clamped at
// ln 100 (the golden's are below the clamp).
func TestLogitScale(t *testing.T) {
	got := logitScales([]float32{0, float32(math.Log(10)), 5, 100})
	for i, want := range []float64{1, 10, 100, 100} {
		if math.Abs(float64(got[i])-want) > 1e-4*want {
			t.Errorf("scale %d: %g, want %g", i, got[i], want)
		}
	}
}
