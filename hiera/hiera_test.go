package hiera

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/nn"
)

const goldenFile = "hiera_abswin.safetensors"

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

// TestInferConfig: the architecture read from the shapes and hub config is
// the one timm built (timm_kwargs).
func TestInferConfig(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	cfg, err := InferConfig(f.File, hub)
	if err != nil {
		t.Fatal(err)
	}
	var kw struct {
		Dim       int   `json:"embed_dim"`
		Heads     int   `json:"num_heads"`
		Stages    []int `json:"stages"`
		GlobalPos []int `json:"global_pos_size"`
		NC        int   `json:"num_classes"`
	}
	f.MetaJSON(t, "timm_kwargs", &kw)
	got := fmt.Sprint(cfg.EmbedDim, cfg.Heads, cfg.Stages, cfg.GlobalPos[:], cfg.NumClasses)
	if want := fmt.Sprint(kw.Dim, kw.Heads, kw.Stages, kw.GlobalPos, kw.NC); got != want {
		t.Errorf("inferred %s, timm built %s", got, want)
	}
}

// TestGolden runs every case at every kernel level, alone and packed in
// batches (in order, reversed with an image twice, and split over several
// packed passes): the packed outputs are the single runs' bits.
func TestGolden(t *testing.T) {
	f, m := loadGolden(t, options{})
	cs := familytest.Cases(t, f)
	familytest.PerLevel(t, func(t *testing.T) {
		familytest.Golden(t, cs, m)
		single := make([]nn.Output, len(cs))
		for i, c := range cs {
			if err := m.Forward(c.Image, &single[i]); err != nil {
				t.Fatal(err)
			}
			if g := m.Grid(c.Image.H, c.Image.W); g != single[i].Grid || g.N()*m.Info().Width != len(c.Features) {
				t.Errorf("%s: Grid says %v, the forward pass gave %v for %d feature values", c.Name, g, single[i].Grid, len(c.Features))
			}
		}
		n := len(cs)
		fwd, back := make([]int, n), make([]int, n+1)
		for i := range fwd {
			fwd[i], back[i] = i, n-1-i
		}
		back[n] = n - 1
		for k, order := range [][]int{fwd, back, back} {
			m.pack = packTokens
			if k == 2 {
				m.pack = m.firstTokens(familytest.Largest(cs).Image)
			}
			imgs := make([]nn.Image, len(order))
			for i, j := range order {
				imgs[i] = cs[j].Image
			}
			outs := make([]nn.Output, len(order))
			if err := m.ForwardBatch(imgs, outs); err != nil {
				t.Fatal(err)
			}
			for i, j := range order {
				if outs[i].Grid != single[j].Grid || familytest.MaxDiff(outs[i].Tokens, single[j].Tokens) != 0 ||
					familytest.MaxDiff(outs[i].Logits, single[j].Logits) != 0 {
					t.Errorf("batch %v (pack %d): %s differs from its single run", order, m.pack, cs[j].Name)
				}
			}
		}
		m.pack = packTokens
		imgs := make([]nn.Image, len(cs))
		for i := range cs {
			imgs[i] = cs[i].Image
		}
		familytest.HeadOnly(t, m, imgs, single)
	})
}

// TestThreads: results are bit-identical for any number of workers.
func TestThreads(t *testing.T) {
	f, _ := loadGolden(t, options{})
	c := familytest.Largest(familytest.Cases(t, f))
	familytest.PerLevel(t, func(t *testing.T) {
		familytest.Threads(t, func(n int) nn.Net {
			_, m := loadGolden(t, options{RunOptions: nn.RunOptions{Threads: n}})
			return m
		}, c.Image)
	})
}

// TestNoAllocs: once warm, a forward pass and a packed batch allocate
// nothing.
func TestNoAllocs(t *testing.T) {
	f, m := loadGolden(t, options{RunOptions: nn.RunOptions{Threads: 2}})
	cs := familytest.Cases(t, f)
	familytest.NoAllocs(t, m, familytest.Largest(cs).Image)
	imgs := make([]nn.Image, len(cs))
	for i, c := range cs {
		imgs[i] = c.Image
	}
	outs := make([]nn.Output, len(cs))
	if err := m.ForwardBatch(imgs, outs); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(3, func() { m.ForwardBatch(imgs, outs) }); n != 0 {
		t.Errorf("%v allocations per warm packed batch", n)
	}
}

func goldenSource(t testing.TB, f *golden.File) nn.MapSource {
	src := nn.MapSource{}
	for _, n := range f.Names() {
		if golden.NotWeight(n) {
			continue
		}
		v, shape := f.F32(t, n)
		src[n] = nn.Tensor{Data: v, Shape: shape}
	}
	return src
}

// TestWeightErrors: a missing tensor is named with its shape, an unknown
// one by name, a mis-shaped one with both shapes.
func TestWeightErrors(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	cfg, err := InferConfig(f.File, hub)
	if err != nil {
		t.Fatal(err)
	}
	last := 0
	for _, s := range cfg.Stages {
		last += s
	}
	last--
	win, _ := f.Shape("pos_embed_win")
	for _, tc := range []struct {
		name string
		edit func(nn.MapSource)
		want string
	}{
		{"missing", func(s nn.MapSource) { delete(s, fmt.Sprintf("blocks.%d.mlp.fc2.bias", last)) },
			fmt.Sprintf(`"blocks.%d.mlp.fc2.bias" (shape [`, last)},
		{"unknown", func(s nn.MapSource) {
			s["blocks.0.attn.q_norm.weight"] = nn.Tensor{Data: make([]float32, 4), Shape: []int{4}}
		}, `"blocks.0.attn.q_norm.weight"`},
		{"shape", func(s nn.MapSource) {
			s["pos_embed_win"] = nn.Tensor{Data: make([]float32, win[1]*4), Shape: []int{1, win[1], 2, 2}}
		}, `"pos_embed_win" has shape [`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := goldenSource(t, f)
			tc.edit(src)
			_, err := newModel(cfg, src, options{})
			if !errors.Is(err, nn.ErrWeight) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrWeight saying %s", err, tc.want)
			}
		})
	}
}

// TestConfigContradictions: model_args that contradict the tensors, or ask
// for what anyres does not run, are refused naming the argument.
func TestConfigContradictions(t *testing.T) {
	f, hub := familytest.Open(t, goldenFile)
	cfg, err := InferConfig(f.File, hub)
	if err != nil {
		t.Fatal(err)
	}
	stages := make([]any, len(cfg.Stages))
	for i, s := range cfg.Stages {
		stages[i] = float64(s + 1)
	}
	for _, tc := range []struct {
		key  string
		val  any
		want string
	}{
		{"embed_dim", float64(cfg.EmbedDim + 1), "model_args.embed_dim"},
		{"stages", stages, "model_args.stages"},
		{"q_pool", float64(1), "model_args.q_pool"},
		{"mask_unit_size", []any{float64(cfg.MaskUnit[0] * 2), float64(cfg.MaskUnit[1] * 2)}, "model_args.mask_unit_size"},
		{"sep_pos_embed", true, "model_args.sep_pos_embed"},
		{"num_heads", "one", "model_args.num_heads"},
	} {
		t.Run(tc.key, func(t *testing.T) {
			h := *hub
			h.ModelArgs = map[string]any{}
			for k, v := range hub.ModelArgs {
				h.ModelArgs[k] = v
			}
			h.ModelArgs[tc.key] = tc.val
			_, err := InferConfig(f.File, &h)
			if !errors.Is(err, nn.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrConfig naming %s", err, tc.want)
			}
		})
	}
}

// TestImageErrors: images whose token grid the mask units do not tile are
// errors that say what sizes work.
func TestImageErrors(t *testing.T) {
	_, m := loadGolden(t, options{RunOptions: nn.RunOptions{MaxTokens: 1000}})
	cfg := m.Config()
	a := cfg.Align()
	px := [2]int{a[0] * cfg.PatchStride[0], a[1] * cfg.PatchStride[1]}
	img := func(c, h, w int) nn.Image { return nn.Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)} }
	for _, tc := range []struct {
		img  nn.Image
		err  error
		want string
	}{
		{img(3, px[0]+cfg.PatchStride[0], px[1]), nn.ErrImage, fmt.Sprintf("multiples of %d×%d pixels", px[0], px[1])},
		{img(3, px[0]/2, px[1]), nn.ErrImage, "multiples of"},
		{img(cfg.InChans+1, px[0], px[1]), nn.ErrImage, "channels"},
		{img(3, 8*px[0], 8*px[1]), nn.ErrTooManyTokens, "over the cap of 1000"},
	} {
		var out nn.Output
		err := m.Forward(tc.img, &out)
		if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d×%d×%d: got %v, want %v saying %q", tc.img.C, tc.img.H, tc.img.W, err, tc.err, tc.want)
		}
	}
	outs := make([]nn.Output, 2)
	if err := m.ForwardBatch([]nn.Image{img(3, px[0], px[1]), img(3, px[0]/2, px[1])}, outs); !errors.Is(err, nn.ErrImage) || !strings.Contains(err.Error(), "image 1") {
		t.Errorf("batch with a bad second image: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	var out nn.Output
	if err := m.Forward(img(3, px[0], px[1]), &out); !errors.Is(err, nn.ErrClosed) {
		t.Errorf("forward after Close: %v", err)
	}
}

// TestFLOPs: FLOPs grows with the image and counts nothing for a size
// Hiera does not take.
func TestFLOPs(t *testing.T) {
	_, m := loadGolden(t, options{})
	p := m.Config().PixelAlign() // sizes from the file's alignment
	small, large := [2]int{2 * p[0], 2 * p[1]}, [2]int{4 * p[0], 3 * p[1]}
	a, b := m.FLOPs(small[0], small[1]), m.FLOPs(large[0], large[1])
	if a <= 0 || b <= a {
		t.Errorf("%v: %g, %v: %g", small, a, large, b)
	}
	if f := m.FLOPs(p[0]+p[0]/2, 2*p[1]); f != 0 {
		t.Errorf("a size Hiera refuses counts %g", f)
	}
}

// TestEdge: with the crop policy an image runs as its top-left crop to
// whole multiples of PixelAlign; with pad as that image padded with zero
// pixels: both give the bits of the strict model on the cut or padded
// image.
func TestEdge(t *testing.T) {
	f, strict := loadGolden(t, options{})
	_, crop := loadGolden(t, options{RunOptions: nn.RunOptions{Edge: nn.EdgeCrop}})
	_, pad := loadGolden(t, options{RunOptions: nn.RunOptions{Edge: nn.EdgePad}})
	c := familytest.Cases(t, f)[0].Image
	a := strict.Config().PixelAlign()
	// c with a margin of other pixels at the bottom and right
	big := nn.Image{C: c.C, H: c.H + a[0]/2, W: c.W + a[1] - 1}
	big.Pix = make([]float32, big.C*big.H*big.W)
	for i := range big.Pix {
		big.Pix[i] = float32(i%7) - 3
	}
	// c with its last rows and columns cut, and c with them zeroed
	cut := nn.Image{C: c.C, H: c.H - a[0]/2, W: c.W - 3}
	cut.Pix = make([]float32, cut.C*cut.H*cut.W)
	zeroed := nn.Image{C: c.C, H: c.H, W: c.W, Pix: make([]float32, len(c.Pix))}
	for ch := 0; ch < c.C; ch++ {
		for y := 0; y < c.H; y++ {
			for x := 0; x < c.W; x++ {
				v := c.Pix[(ch*c.H+y)*c.W+x]
				big.Pix[(ch*big.H+y)*big.W+x] = v
				if y < cut.H && x < cut.W {
					cut.Pix[(ch*cut.H+y)*cut.W+x] = v
					zeroed.Pix[(ch*c.H+y)*c.W+x] = v
				}
			}
		}
	}
	for _, tc := range []struct {
		name       string
		m          *Model
		img, equal nn.Image
	}{{"crop", crop, big, c}, {"pad", pad, cut, zeroed}} {
		var got, want nn.Output
		if err := tc.m.Forward(tc.img, &got); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := strict.Forward(tc.equal, &want); err != nil {
			t.Fatal(err)
		}
		if got.Grid != want.Grid || familytest.MaxDiff(got.Tokens, want.Tokens) != 0 || familytest.MaxDiff(got.Logits, want.Logits) != 0 {
			t.Errorf("%s: %dx%d differs from the strict run of %dx%d", tc.name, tc.img.H, tc.img.W, tc.equal.H, tc.equal.W)
		}
		if g := tc.m.Grid(tc.img.H, tc.img.W); g != got.Grid {
			t.Errorf("%s: Grid says %v, the forward pass gave %v", tc.name, g, got.Grid)
		}
	}
	if _, err := newModel(strict.Config(), f.File, options{Ignore: golden.NotWeight, RunOptions: nn.RunOptions{Edge: nn.EdgeResize}}); !errors.Is(err, nn.ErrConfig) {
		t.Errorf("edge resize: %v", err)
	}
}

// TestRandomWeights: the benchmark's weights load into the full-size
// model (and InferConfig reads its architecture back from them).
func TestRandomWeights(t *testing.T) {
	if testing.Short() {
		t.Skip("a full-size model is slow to build under emulators")
	}
	cfg := SmallAbsWin256()
	src := RandomWeights(cfg, 1)
	m, err := newModel(cfg, src, options{RunOptions: nn.RunOptions{Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	var out nn.Output
	if err := m.Forward(familytest.BenchImage(64, 96), &out); err != nil {
		t.Fatal(err)
	}
	if out.Grid.H != 2 || out.Grid.W != 3 || len(out.Logits) != cfg.NumClasses {
		t.Errorf("grid %v, %d logits", out.Grid, len(out.Logits))
	}
	got, err := InferConfig(familytest.Checkpoint{MapSource: src}, &nn.HubConfig{Architecture: "hiera_small_abswin_256",
		ModelArgs: map[string]any{"num_heads": 1.0}})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := fmt.Sprintf("%+v", got), fmt.Sprintf("%+v", cfg); a != b {
		t.Errorf("inferred %s\nbuilt    %s", a, b)
	}
}
