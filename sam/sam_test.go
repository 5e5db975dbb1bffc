package sam

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/nn"
)

const goldenFile = "samvit_relpos.safetensors"

func loadGolden(t testing.TB, opts options) (*golden.File, *Model) {
	f, hub := familytest.Open(t, goldenFile)
	cfg, err := InferConfig(f.File, hub)
	if err != nil {
		t.Fatal(err)
	}
	opts.Ignore = golden.NotWeight
	m, err := newModel(cfg, f.File, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f, m
}

type goldenCase struct {
	name  string
	img   nn.Image
	feats []float32 // channels last: timm's NCHW features transposed to grid rows
	grid  [2]int
}

// cases reads the file's cases: one image in, forward_features out (NCHW).
func cases(t testing.TB, f *golden.File) []goldenCase {
	var cs []goldenCase
	for _, c := range f.Cases {
		if len(c.Inputs) != 1 || len(c.Outputs) != 1 {
			t.Fatalf("%s: %d inputs and %d outputs, want 1 and 1 (features)", c.Name, len(c.Inputs), len(c.Outputs))
		}
		pix, shape := f.F32(t, c.Inputs[0])
		nchw, fs := f.F32(t, c.Outputs[0])
		ch, h, w := fs[1], fs[2], fs[3]
		hwc := make([]float32, len(nchw))
		for k := 0; k < ch; k++ {
			for p := 0; p < h*w; p++ {
				hwc[p*ch+k] = nchw[k*h*w+p]
			}
		}
		cs = append(cs, goldenCase{c.Name, nn.Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix}, hwc, [2]int{h, w}})
	}
	if len(cs) == 0 {
		t.Fatal("no case")
	}
	return cs
}

// TestInferConfig: the architecture read from the shapes and hub config is
// the one timm built (timm_kwargs).
func TestInferConfig(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	cfg, err := InferConfig(f.File, hub)
	if err != nil {
		t.Fatal(err)
	}
	var kw struct {
		Dim    int   `json:"embed_dim"`
		Depth  int   `json:"depth"`
		Heads  int   `json:"num_heads"`
		Window int   `json:"window_size"`
		Global []int `json:"global_attn_indexes"`
		Neck   int   `json:"neck_chans"`
		NC     int   `json:"num_classes"`
	}
	f.MetaJSON(t, "timm_kwargs", &kw)
	if fmt.Sprint(cfg.Dim, cfg.Depth, cfg.Heads, cfg.Window, cfg.Global, cfg.NeckChans, cfg.NumClasses) !=
		fmt.Sprint(kw.Dim, kw.Depth, kw.Heads, kw.Window, kw.Global, kw.Neck, kw.NC) || !cfg.RelPos {
		t.Errorf("inferred %+v, timm built %+v", cfg, kw)
	}
}

// TestGolden runs every case at every kernel level: features within 1e-4
// of timm's, on the grid timm gives, and the batch equal to single runs.
func TestGolden(t *testing.T) {
	f, m := loadGolden(t, options{})
	cs := cases(t, f)
	familytest.PerLevel(t, func(t *testing.T) {
		imgs := make([]nn.Image, len(cs))
		for i, c := range cs {
			var out nn.Output
			if err := m.Forward(c.img, &out); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if g := m.Grid(c.img.H, c.img.W); g != out.Grid || g.H != c.grid[0] || g.W != c.grid[1] {
				t.Errorf("%s: Grid says %v, the forward pass gave %v, timm %v", c.name, g, out.Grid, c.grid)
			}
			golden.Close(t, c.name+" features", out.Tokens, c.feats, 1e-4, 0)
			imgs[i] = c.img
		}
		familytest.Packing(t, m, imgs)
	})
}

// TestThreads: results are bit-identical for any number of workers, on a
// size with padded windows and a global block over several query spans.
func TestThreads(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	cfg, err := InferConfig(f.File, hub)
	if err != nil {
		t.Fatal(err)
	}
	img := largestCase(cases(t, f)).img
	familytest.PerLevel(t, func(t *testing.T) {
		familytest.Threads(t, func(threads int) nn.Net {
			m, err := newModel(cfg, f.File, options{RunOptions: nn.RunOptions{Threads: threads}, Ignore: golden.NotWeight})
			if err != nil {
				t.Fatal(err)
			}
			return m
		}, img)
	})
}

// TestNoAllocs: once warm for a size, a forward pass allocates nothing.
func TestNoAllocs(t *testing.T) {
	f, m := loadGolden(t, options{RunOptions: nn.RunOptions{Threads: 2}})
	familytest.NoAllocs(t, m, largestCase(cases(t, f)).img)
}

// largestCase is the case with the most pixels: the one most likely to
// pad windows and split a global block into several query spans.
func largestCase(cs []goldenCase) goldenCase {
	best := cs[0]
	for _, c := range cs[1:] {
		if c.img.H*c.img.W > best.img.H*best.img.W {
			best = c
		}
	}
	return best
}

func goldenSource(t testing.TB, f *golden.File) familytest.Checkpoint {
	src := nn.MapSource{}
	for _, n := range f.Names() {
		if golden.NotWeight(n) {
			continue
		}
		v, shape := f.F32(t, n)
		src[n] = nn.Tensor{Data: v, Shape: shape}
	}
	return familytest.Checkpoint{MapSource: src}
}

// TestWeightErrors: a missing tensor is named with its shape, an unknown
// one by name, a mis-shaped one with both shapes.
func TestWeightErrors(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	cfg, err := InferConfig(f.File, hub)
	if err != nil {
		t.Fatal(err)
	}
	nc, hd := cfg.NeckChans, cfg.HeadDim()
	for _, tc := range []struct {
		name string
		edit func(nn.MapSource)
		want string
	}{
		{"missing", func(s nn.MapSource) { delete(s, "neck.3.bias") }, fmt.Sprintf(`"neck.3.bias" (shape [%d]) is missing`, nc)},
		{"unknown", func(s nn.MapSource) {
			s["blocks.0.attn.q_norm.weight"] = nn.Tensor{Data: make([]float32, hd), Shape: []int{hd}}
		}, `"blocks.0.attn.q_norm.weight"`},
		{"shape", func(s nn.MapSource) {
			s["neck.2.weight"] = nn.Tensor{Data: make([]float32, nc*nc), Shape: []int{nc, nc, 1, 1}}
		}, `"neck.2.weight" has shape [`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := goldenSource(t, f)
			tc.edit(src.MapSource)
			_, err := newModel(cfg, src, options{})
			if !errors.Is(err, nn.ErrWeight) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrWeight saying %s", err, tc.want)
			}
		})
	}
}

// TestConfigErrors: a config that contradicts the file is refused, naming
// what disagrees.
func TestConfigErrors(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	cfg, err := InferConfig(f.File, hub)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		arg  string
		val  any
		want string
	}{
		{"window", "window_size", float64(cfg.Window + 1), "the config contradicts the file"},
		{"huge window", "window_size", float64(1 << 20), "window 1048576"},
		{"fractional window", "window_size", 4.5, "not a whole number"},
		{"heads", "num_heads", float64(cfg.Heads + 1), "heads"},
		{"global", "global_attn_indexes", []any{float64(cfg.Depth)}, "global block"},
		{"relpos", "use_rel_pos", false, "use_rel_pos"},
		{"width", "embed_dim", float64(cfg.Dim * 2), "embed_dim"},
		{"neck", "neck_chans", float64(cfg.NeckChans + 1), "neck_chans"},
		{"img_size", "img_size", float64(cfg.PosGrid[0]*cfg.Patch + 2*cfg.Patch), "img_size"},
		{"rope", "use_rope", true, "use_rope"},
		{"pool", "global_pool", "max", "global_pool"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := *hub
			h.ModelArgs = map[string]any{}
			for k, v := range hub.ModelArgs {
				h.ModelArgs[k] = v
			}
			h.ModelArgs[tc.arg] = tc.val
			_, err := InferConfig(f.File, &h)
			if !errors.Is(err, nn.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrConfig saying %q", err, tc.want)
			}
		})
	}
	// Without a config.json, shapes alone cannot tell the windows.
	if _, err := InferConfig(f.File, nil); !errors.Is(err, nn.ErrConfig) || !strings.Contains(err.Error(), "window_size") {
		t.Errorf("no hub config: got %v", err)
	}
}

// TestImageErrors: images the encoder cannot take are errors that say why.
func TestImageErrors(t *testing.T) {
	_, m := loadGolden(t, options{RunOptions: nn.RunOptions{MaxTokens: 100}})
	img := func(c, h, w int) nn.Image { return nn.Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)} }
	for _, tc := range []struct {
		img  nn.Image
		err  error
		want string
	}{
		{img(3, 8, 64), nn.ErrImage, "smaller than one"},
		{img(1, 64, 64), nn.ErrImage, "channels"},
		{img(3, 256, 256), nn.ErrTooManyTokens, "over the cap of 100"},
		{nn.Image{C: 3, H: 64, W: 64, Pix: make([]float32, 10)}, nn.ErrImage, "needs"},
	} {
		var out nn.Output
		err := m.Forward(tc.img, &out)
		if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d×%d×%d: got %v, want %v saying %q", tc.img.C, tc.img.H, tc.img.W, err, tc.err, tc.want)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	var out nn.Output
	if err := m.Forward(img(3, 64, 64), &out); !errors.Is(err, nn.ErrClosed) {
		t.Errorf("forward after Close: %v", err)
	}
}

// TestEdge: sizes that are not whole patches crop by default (the strided
// patch convolution) and pad on request; other policies are refused.
func TestEdge(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	cfg, err := InferConfig(f.File, hub)
	if err != nil {
		t.Fatal(err)
	}
	c := cases(t, f)[0]
	p := cfg.Patch
	// The case's image with p−1 more columns (any values) crops to it.
	h, w := c.img.H, c.img.W+p-1
	pix := make([]float32, 3*h*w)
	for ch := 0; ch < 3; ch++ {
		for y := 0; y < h; y++ {
			copy(pix[(ch*h+y)*w:], c.img.Pix[(ch*c.img.H+y)*c.img.W:(ch*c.img.H+y+1)*c.img.W])
			for x := c.img.W; x < w; x++ {
				pix[(ch*h+y)*w+x] = 7
			}
		}
	}
	m, err := newModel(cfg, f.File, options{Ignore: golden.NotWeight})
	if err != nil {
		t.Fatal(err)
	}
	var out nn.Output
	if err := m.Forward(nn.Image{C: 3, H: h, W: w, Pix: pix}, &out); err != nil {
		t.Fatal(err)
	}
	golden.Close(t, "cropped", out.Tokens, c.feats, 1e-4, 0)
	pm, err := newModel(cfg, f.File, options{RunOptions: nn.RunOptions{Edge: nn.EdgePad}, Ignore: golden.NotWeight})
	if err != nil {
		t.Fatal(err)
	}
	if g := pm.Grid(h, w); g.W != c.grid[1]+1 {
		t.Errorf("padded grid %v for %d×%d", g, h, w)
	}
	if _, err := newModel(cfg, f.File, options{RunOptions: nn.RunOptions{Edge: nn.EdgeResize}, Ignore: golden.NotWeight}); !errors.Is(err, nn.ErrConfig) {
		t.Errorf("EdgeResize: %v", err)
	}
}

// TestRandomWeights: the benchmark's weights load into the full-size model
// and run a non-square image with padded windows.
func TestRandomWeights(t *testing.T) {
	if testing.Short() {
		t.Skip("ViT-B-wide random weights take most of a minute under emulators")
	}
	cfg := SAMBase()
	cfg.Depth, cfg.Global = 3, []int{2} // a windowed and a global block, quickly
	m, err := newModel(cfg, RandomWeights(cfg, 1), options{RunOptions: nn.RunOptions{Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var out nn.Output
	if err := m.Forward(nn.Image{C: 3, H: 64, W: 256, Pix: make([]float32, 3*64*256)}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Grid.H != 4 || out.Grid.W != 16 || len(out.Tokens) != 4*16*cfg.NeckChans || len(out.Pooled) != cfg.NeckChans {
		t.Errorf("grid %v, %d features, %d pooled", out.Grid, len(out.Tokens), len(out.Pooled))
	}
}

// TestFLOPs: FLOPs grows with the image.
func TestFLOPs(t *testing.T) {
	_, m := loadGolden(t, options{})
	a, b := m.FLOPs(96, 96), m.FLOPs(144, 80)
	if a <= 0 || b <= a {
		t.Errorf("96²: %g, 144×80: %g", a, b)
	}
}

// TestThreadsLarge: on a grid whose global block splits into several
// query spans and tiles, and whose windows pad, 1 and N workers give the
// same bits (random weights of a small config).
func TestThreadsLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("a 1300-token global block is slow under emulators")
	}
	cfg := Config{InChans: 3, Patch: 16, Dim: 48, Depth: 2, Heads: 3, MLPHidden: 96, Window: 5,
		Global: []int{1}, RelPos: true, PosGrid: [2]int{6, 6}, NeckChans: 16}
	src := RandomWeights(cfg, 3)
	img := familytest.BenchImage(36*16, 37*16)
	familytest.Threads(t, func(threads int) nn.Net {
		m, err := newModel(cfg, src, options{RunOptions: nn.RunOptions{Threads: threads}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}, img)
}

// TestConcurrentUse runs one model from several goroutines at once, on
// different sizes (each grid's tables built by whichever comes first).
func TestConcurrentUse(t *testing.T) {
	f, m := loadGolden(t, options{RunOptions: nn.RunOptions{Threads: 2}})
	cs := cases(t, f)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			var out nn.Output
			for r := 0; r < 3; r++ {
				c := cs[(g+r)%len(cs)]
				if err := m.Forward(c.img, &out); err != nil {
					t.Error(err)
					return
				}
				if d := familytest.MaxDiff(out.Tokens, c.feats); d > 1e-4 {
					t.Errorf("goroutine %d: %s differs from timm by %g", g, c.name, d)
				}
			}
		})
	}
	wg.Wait()
}

// TestVariants: the options timm's class takes that the references do not
// cover (no neck, no absolute table, no relative position, no windows, a
// classifier head) load from RandomWeights, infer back to the same config
// with a hub config, and give features of the right shape.
func TestVariants(t *testing.T) {
	small := Config{InChans: 3, Patch: 16, Dim: 32, Depth: 2, Heads: 2, MLPHidden: 64, Window: 3,
		Global: []int{1}, RelPos: true, PosGrid: [2]int{4, 4}, NeckChans: 8}
	for name, edit := range map[string]func(*Config){
		"no neck":     func(c *Config) { c.NeckChans = 0 },
		"no table":    func(c *Config) { c.PosGrid = [2]int{} },
		"no relpos":   func(c *Config) { c.RelPos = false },
		"no windows":  func(c *Config) { c.Window, c.Global = 0, []int{} },
		"head":        func(c *Config) { c.NumClasses = 5 },
		"all windows": func(c *Config) { c.Global = []int{} },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := small
			edit(&cfg)
			src := familytest.Checkpoint{MapSource: RandomWeights(cfg, 2)}
			args := map[string]any{"window_size": float64(cfg.Window), "num_heads": float64(cfg.Heads)}
			gl := []any{}
			for _, g := range cfg.Global {
				gl = append(gl, float64(g))
			}
			args["global_attn_indexes"] = gl
			got, err := InferConfig(src, &nn.HubConfig{Architecture: "samvit_test", ModelArgs: args})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", cfg) {
				t.Errorf("inferred %+v, built %+v", got, cfg)
			}
			m, err := newModel(cfg, src, options{RunOptions: nn.RunOptions{Threads: 2}})
			if err != nil {
				t.Fatal(err)
			}
			var out nn.Output
			if err := m.Forward(familytest.BenchImage(80, 112), &out); err != nil {
				t.Fatal(err)
			}
			if out.Grid != m.Grid(80, 112) || len(out.Tokens) != 5*7*cfg.OutDim() || m.Info().Width != cfg.OutDim() ||
				len(out.Logits) != cfg.NumClasses || len(out.Pooled) != cfg.OutDim() {
				t.Errorf("grid %v, %d features of width %d, %d logits, %d pooled", out.Grid, len(out.Tokens), m.Info().Width, len(out.Logits), len(out.Pooled))
			}
		})
	}
}
