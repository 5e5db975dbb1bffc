package twins

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

// goldenFiles are timm's references for Twins: PCPVT (global attention
// only) and SVT (locally-grouped and global attention alternating).
var goldenFiles = []string{"twins_pcpvt_peg.safetensors", "twins_svt.safetensors"}

// perFile runs body once per reference file.
func perFile(t *testing.T, body func(t *testing.T, file string)) {
	for _, name := range goldenFiles {
		t.Run(strings.TrimSuffix(name, ".safetensors"), func(t *testing.T) { body(t, name) })
	}
}

func loadGolden(t testing.TB, file string, opts options) (*golden.File, *Model) {
	f, hub := familytest.Open(t, file)
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
	perFile(t, func(t *testing.T, file string) {
		f, hub := familytest.Open(t, file)
		cfg, err := InferConfig(f.File, hub)
		if err != nil {
			t.Fatal(err)
		}
		var kw struct {
			Dims   []int `json:"embed_dims"`
			Heads  []int `json:"num_heads"`
			Depths []int `json:"depths"`
			SR     []int `json:"sr_ratios"`
			WSS    []int `json:"wss"`
			NC     int   `json:"num_classes"`
		}
		f.MetaJSON(t, "timm_kwargs", &kw)
		got := fmt.Sprint(cfg.Dims, cfg.Heads, cfg.Depths, cfg.SR, cfg.WSS, cfg.NumClasses)
		if want := fmt.Sprint(kw.Dims, kw.Heads, kw.Depths, kw.SR, kw.WSS, kw.NC); got != want {
			t.Errorf("inferred %s, timm built %s", got, want)
		}
		// Without model_args, timm's defaults for the named model: a
		// reference of other widths needs its num_heads.
		bare := *hub
		bare.ModelArgs = nil
		if _, err := InferConfig(f.File, &bare); err == nil && fmt.Sprint(kw.Heads) != fmt.Sprint(cfg.Heads) {
			t.Errorf("without model_args: no error, though the heads cannot be told")
		}
	})
}

// TestGolden runs every case at every kernel level, alone and packed in
// one batch (in order, reversed, and with an image twice): the packed
// outputs are the single runs' bits.
func TestGolden(t *testing.T) {
	perFile(t, func(t *testing.T, file string) {
		f, m := loadGolden(t, file, options{})
		cs := familytest.Cases(t, f)
		familytest.PerLevel(t, func(t *testing.T) {
			familytest.Golden(t, cs, m)
			var imgs []nn.Image
			single := make([]nn.Output, len(cs))
			for i, c := range cs {
				if err := m.Forward(c.Image, &single[i]); err != nil {
					t.Fatal(err)
				}
				if g := m.Grid(c.Image.H, c.Image.W); g != single[i].Grid || g.N()*m.Info().Width != len(c.Features) {
					t.Errorf("%s: Grid says %v, the forward pass gave %v for %d feature values", c.Name, g, single[i].Grid, len(c.Features))
				}
				imgs = append(imgs, c.Image)
			}
			for k, order := range [][]int{seq(len(cs)), rev(len(cs)), append(seq(len(cs)), 0), append(rev(len(cs)), len(cs)-1)} {
				// The last batch runs in several packed passes.
				m.pack = packTokens
				if k == 3 {
					m.pack = m.firstTokens(familytest.Largest(cs).Image)
				}
				batch := make([]nn.Image, len(order))
				for i, j := range order {
					batch[i] = imgs[j]
				}
				outs := make([]nn.Output, len(order))
				if err := m.ForwardBatch(batch, outs); err != nil {
					t.Fatal(err)
				}
				for i, j := range order {
					if outs[i].Grid != single[j].Grid || familytest.MaxDiff(outs[i].Tokens, single[j].Tokens) != 0 || familytest.MaxDiff(outs[i].Logits, single[j].Logits) != 0 {
						t.Errorf("batch %v: %s differs from its single run", order, cs[j].Name)
					}
				}
			}
			m.pack = packTokens
			familytest.HeadOnly(t, m, imgs, single)
		})
	})
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func rev(n int) []int {
	s := seq(n)
	for i := range s {
		s[i] = n - 1 - i
	}
	return s
}

// TestThreads: results are bit-identical for any number of workers.
func TestThreads(t *testing.T) {
	perFile(t, func(t *testing.T, file string) {
		f, _ := loadGolden(t, file, options{})
		c := familytest.Largest(familytest.Cases(t, f))
		familytest.PerLevel(t, func(t *testing.T) {
			familytest.Threads(t, func(n int) nn.Net {
				_, m := loadGolden(t, file, options{RunOptions: nn.RunOptions{Threads: n}})
				return m
			}, c.Image)
		})
	})
}

// TestConcurrentUse runs one model from several goroutines at once.
func TestConcurrentUse(t *testing.T) {
	perFile(t, func(t *testing.T, file string) {
		f, m := loadGolden(t, file, options{RunOptions: nn.RunOptions{Threads: 2}})
		cs := familytest.Cases(t, f)
		want := make([]nn.Output, len(cs))
		for i := range cs {
			if err := m.Forward(cs[i].Image, &want[i]); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		for g := 0; g < 4; g++ {
			wg.Go(func() {
				var out nn.Output
				for r := 0; r < 3; r++ {
					i := (g + r) % len(cs)
					if err := m.Forward(cs[i].Image, &out); err != nil {
						t.Error(err)
						return
					}
					if d := familytest.MaxDiff(out.Tokens, want[i].Tokens); d != 0 {
						t.Errorf("goroutine %d: %s differs by %g", g, cs[i].Name, d)
					}
				}
			})
		}
		wg.Wait()
	})
}

// TestNoAllocs: once warm for a size, a forward pass allocates nothing,
// also after a garbage collection; so does a warm packed batch.
func TestNoAllocs(t *testing.T) {
	perFile(t, func(t *testing.T, file string) {
		f, m := loadGolden(t, file, options{RunOptions: nn.RunOptions{Threads: 2}})
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
	})
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
	perFile(t, func(t *testing.T, file string) {
		f, hub := familytest.Open(t, file)
		cfg, err := InferConfig(f.File, hub)
		if err != nil {
			t.Fatal(err)
		}
		last := cfg.Stages() - 1
		d := cfg.Dims[last]
		// a spatial reduction, and the attention of stage 0's first block
		var sr, attn string
		for _, n := range f.Names() {
			if strings.HasSuffix(n, ".attn.sr.weight") && sr == "" {
				sr = n
			}
		}
		attn = "blocks.0.0.attn.q.weight"
		if cfg.Local(0, 0) {
			attn = "blocks.0.0.attn.qkv.weight"
		}
		if sr == "" { // no global sub-sampled block (one-block stages): mis-shape the attention
			sr = attn
		}
		srShape, _ := f.Shape(sr)
		cases := []struct {
			name string
			edit func(nn.MapSource)
			want string
		}{
			{"missing", func(s nn.MapSource) { delete(s, fmt.Sprintf("pos_block.%d.proj.0.bias", last)) },
				fmt.Sprintf(`"pos_block.%d.proj.0.bias" (shape [%d]) is missing`, last, d)},
			{"missing attention", func(s nn.MapSource) { delete(s, attn) }, fmt.Sprintf(`%q (shape [`, attn)},
			{"unknown", func(s nn.MapSource) {
				s["blocks.1.0.attn.q_norm.weight"] = nn.Tensor{Data: make([]float32, 4), Shape: []int{4}}
			}, `"blocks.1.0.attn.q_norm.weight"`},
			{"shape", func(s nn.MapSource) {
				c := srShape[0]
				s[sr] = nn.Tensor{Data: make([]float32, c*c*4), Shape: []int{c, c, 2, 2}}
			}, fmt.Sprintf("%q has shape [", sr)},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				src := goldenSource(t, f)
				tc.edit(src)
				_, err := newModel(cfg, src, options{})
				if !errors.Is(err, nn.ErrWeight) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got %v, want an ErrWeight saying %s", err, tc.want)
				}
			})
		}
	})
}

// TestConfigContradictions: a config.json whose model_args or model name
// contradict the tensors is refused, naming what disagrees.
func TestConfigContradictions(t *testing.T) {
	perFile(t, func(t *testing.T, file string) {
		f, hub := familytest.Open(t, file)
		cfg, err := InferConfig(f.File, hub)
		if err != nil {
			t.Fatal(err)
		}
		svt := len(cfg.WSS) > 0
		list := func(v []int) []any {
			out := make([]any, len(v))
			for i, x := range v {
				out[i] = float64(x)
			}
			return out
		}
		other := "twins_svt_small"
		if svt {
			other = "twins_pcpvt_small"
		}
		wss := make([]int, cfg.Stages())
		for i := range wss {
			wss[i] = 7
			if svt {
				wss[i] = 1
			}
		}
		dims := append([]int(nil), cfg.Dims...)
		dims[0]++
		for _, tc := range []struct {
			name string
			edit func(h *nn.HubConfig)
			want string
		}{
			{"architecture", func(h *nn.HubConfig) { h.Architecture = other }, other},
			{"wss", func(h *nn.HubConfig) { h.ModelArgs["wss"] = list(wss) }, "model_args.wss[0]"},
			{"embed_dims", func(h *nn.HubConfig) { h.ModelArgs["embed_dims"] = list(dims) }, "model_args.embed_dims"},
			{"heads", func(h *nn.HubConfig) { h.ModelArgs["num_heads"] = list(cfg.Heads[1:]) }, "model_args.num_heads"},
			{"not a list", func(h *nn.HubConfig) { h.ModelArgs["depths"] = "deep" }, "model_args.depths"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				h := *hub
				h.ModelArgs = map[string]any{}
				for k, v := range hub.ModelArgs {
					h.ModelArgs[k] = v
				}
				tc.edit(&h)
				_, err := InferConfig(f.File, &h)
				if !errors.Is(err, nn.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("got %v, want an ErrConfig naming %s", err, tc.want)
				}
			})
		}
	})
}

// TestImageErrors: images the pyramid cannot take are errors that say why.
func TestImageErrors(t *testing.T) {
	perFile(t, func(t *testing.T, file string) {
		_, m := loadGolden(t, file, options{RunOptions: nn.RunOptions{MaxTokens: 1000}})
		cfg := m.Config()
		// the stride of the last stage: an image half as tall has no
		// last-stage grid; the first stage's keys need patch·sr pixels
		stride := 1
		for _, p := range cfg.Patch {
			stride *= p
		}
		keys := cfg.Patch[0] * cfg.SR[0]
		img := func(c, h, w int) nn.Image { return nn.Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)} }
		ok := max(stride, keys)
		for _, tc := range []struct {
			img  nn.Image
			err  error
			want string
		}{
			{img(3, stride/2, 2*ok), nn.ErrImage, "too small for Twins"},
			{img(3, 2*ok, cfg.Patch[0]/2), nn.ErrImage, "smaller than one"},
			{img(cfg.InChans+1, 2*ok, 2*ok), nn.ErrImage, "channels"},
			{img(3, 32*cfg.Patch[0], 32*cfg.Patch[0]), nn.ErrTooManyTokens, "over the cap of 1000"},
			{nn.Image{C: 3, H: 2 * ok, W: 2 * ok, Pix: make([]float32, 10)}, nn.ErrImage, "needs"},
		} {
			var out nn.Output
			err := m.Forward(tc.img, &out)
			if !errors.Is(err, tc.err) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%d×%d×%d: got %v, want %v saying %q", tc.img.C, tc.img.H, tc.img.W, err, tc.err, tc.want)
			}
		}
		// In a batch, the image at fault is named.
		outs := make([]nn.Output, 2)
		if err := m.ForwardBatch([]nn.Image{img(3, 2*ok, 2*ok), img(3, stride/2, 2*ok)}, outs); !errors.Is(err, nn.ErrImage) || !strings.Contains(err.Error(), "image 1") {
			t.Errorf("batch with a bad second image: %v", err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
		var out nn.Output
		if err := m.Forward(img(3, 2*ok, 2*ok), &out); !errors.Is(err, nn.ErrClosed) {
			t.Errorf("forward after Close: %v", err)
		}
		if err := m.ForwardBatch([]nn.Image{img(3, 2*ok, 2*ok)}, outs[:1]); !errors.Is(err, nn.ErrClosed) {
			t.Errorf("batch after Close: %v", err)
		}
	})
}

// fullSize are the timm models the benchmarks run (SVT only without
// -short: building it is slow under emulators).
func fullSize() []Config {
	if testing.Short() {
		return []Config{PCPVTSmall()}
	}
	return []Config{PCPVTSmall(), SVTSmall()}
}

// TestRandomWeights: the benchmark's weights load into the full-size
// models; a grid smaller than the window pads to one window.
func TestRandomWeights(t *testing.T) {
	for _, cfg := range fullSize() {
		m, err := newModel(cfg, RandomWeights(cfg, 1), options{RunOptions: nn.RunOptions{Threads: 1}})
		if err != nil {
			t.Fatal(err)
		}
		var out nn.Output
		if err := m.Forward(nn.Image{C: 3, H: 64, W: 96, Pix: make([]float32, 3*64*96)}, &out); err != nil {
			t.Fatal(err)
		}
		if out.Grid.H != 2 || out.Grid.W != 3 || len(out.Logits) != cfg.NumClasses {
			t.Errorf("grid %v, %d logits", out.Grid, len(out.Logits))
		}
	}
}

// TestFLOPs: FLOPs grows with the image and counts nothing for an image
// too small to run.
func TestFLOPs(t *testing.T) {
	for _, cfg := range fullSize() {
		m, err := newModel(cfg, RandomWeights(cfg, 1), options{RunOptions: nn.RunOptions{Threads: 1}})
		if err != nil {
			t.Fatal(err)
		}
		a, b := m.FLOPs(224, 224), m.FLOPs(384, 512)
		if a <= 0 || b <= a {
			t.Errorf("224²: %g, 384×512: %g", a, b)
		}
		if f := m.FLOPs(16, 16); f != 0 {
			t.Errorf("an image too small to run counts %g", f)
		}
		t.Logf("%v at 224²: %.2f G multiply-adds", cfg.Dims, a/2e9)
	}
}
