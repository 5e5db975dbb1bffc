package twins

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/nn"
)

const goldenFile = "twins_pcpvt_peg.safetensors"

func loadGolden(t testing.TB, opts Options) (*golden.File, *Model) {
	f, hub := familytest.Open(t, goldenFile)
	cfg, err := InferConfig(f.File, hub)
	if err != nil {
		t.Fatal(err)
	}
	opts.Ignore = golden.NotWeight
	m, err := New(cfg, f.File, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f, m
}

type goldenCase struct {
	name          string
	img           nn.Image
	feats, logits []float32
}

func cases(t testing.TB, f *golden.File) []goldenCase {
	var cs []goldenCase
	for _, c := range f.Cases {
		pix, shape := f.F32(t, c.Inputs[0])
		feats, _ := f.F32(t, c.Outputs[0])
		logits, _ := f.F32(t, c.Outputs[1])
		cs = append(cs, goldenCase{c.Name, nn.Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix}, feats, logits})
	}
	if len(cs) == 0 {
		t.Fatal("no case")
	}
	return cs
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
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
		Dims   []int `json:"embed_dims"`
		Heads  []int `json:"num_heads"`
		Depths []int `json:"depths"`
		SR     []int `json:"sr_ratios"`
		NC     int   `json:"num_classes"`
	}
	f.MetaJSON(t, "timm_kwargs", &kw)
	if fmt.Sprint(cfg.Dims, cfg.Heads, cfg.Depths, cfg.SR, cfg.NumClasses) != fmt.Sprint(kw.Dims, kw.Heads, kw.Depths, kw.SR, kw.NC) {
		t.Errorf("inferred %+v, timm built %+v", cfg, kw)
	}
}

// TestGolden runs every case at every kernel level, alone and as a batch.
func TestGolden(t *testing.T) {
	f, m := loadGolden(t, Options{})
	cs := cases(t, f)
	familytest.PerLevel(t, func(t *testing.T) {
		imgs := make([]nn.Image, len(cs))
		single := make([]nn.Output, len(cs))
		for i, c := range cs {
			if err := m.Forward(c.img, &single[i]); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			golden.Close(t, c.name+" features", single[i].Tokens, c.feats, 1e-4, 0)
			golden.Close(t, c.name+" logits", single[i].Logits, c.logits, 1e-4, 0)
			if g := m.Grid(c.img.H, c.img.W); g != single[i].Grid || g.N()*m.Info().Width != len(c.feats) {
				t.Errorf("%s: Grid says %v, the forward pass gave %v for %d feature values", c.name, g, single[i].Grid, len(c.feats))
			}
			imgs[i] = c.img
		}
		batch := make([]nn.Output, len(cs))
		if err := m.ForwardBatch(imgs, batch); err != nil {
			t.Fatal(err)
		}
		for i := range batch {
			if maxDiff(batch[i].Tokens, single[i].Tokens) != 0 || maxDiff(batch[i].Logits, single[i].Logits) != 0 {
				t.Errorf("%s: the batch differs from the single run", cs[i].name)
			}
		}
	})
}

// TestThreads: results are bit-identical for any number of workers.
func TestThreads(t *testing.T) {
	f, m := loadGolden(t, Options{})
	c := cases(t, f)[2]
	familytest.PerLevel(t, func(t *testing.T) {
		var want nn.Output
		for _, threads := range []int{1, 3} {
			var out nn.Output
			if err := m.WithThreads(threads).Forward(c.img, &out); err != nil {
				t.Fatal(err)
			}
			if threads == 1 {
				want = out
				continue
			}
			if d := maxDiff(out.Tokens, want.Tokens) + maxDiff(out.Logits, want.Logits); d != 0 {
				t.Errorf("%d threads differ from 1 by %g", threads, d)
			}
		}
	})
}

// TestConcurrentUse runs one model from several goroutines at once.
func TestConcurrentUse(t *testing.T) {
	f, m := loadGolden(t, Options{RunOptions: nn.RunOptions{Threads: 2}})
	cs := cases(t, f)
	want := make([]nn.Output, len(cs))
	for i := range cs {
		if err := m.Forward(cs[i].img, &want[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			var out nn.Output
			for r := 0; r < 3; r++ {
				i := (g + r) % len(cs)
				if err := m.Forward(cs[i].img, &out); err != nil {
					t.Error(err)
					return
				}
				if d := maxDiff(out.Tokens, want[i].Tokens); d != 0 {
					t.Errorf("goroutine %d: %s differs by %g", g, cs[i].name, d)
				}
			}
		})
	}
	wg.Wait()
}

// TestNoAllocs: once warm for a size, a forward pass allocates nothing,
// also after a garbage collection.
func TestNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("AllocsPerRun is slow under the race detector")
	}
	f, m := loadGolden(t, Options{RunOptions: nn.RunOptions{Threads: 2}})
	img := cases(t, f)[2].img
	var out nn.Output
	if err := m.Forward(img, &out); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(5, func() { m.Forward(img, &out) }); n != 0 {
		t.Errorf("%v allocations per warm forward", n)
	}
	if n := testing.AllocsPerRun(5, func() { runtime.GC(); m.Forward(img, &out) }); n != 0 {
		t.Errorf("%v allocations per warm forward after a garbage collection", n)
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
	d1 := cfg.Dims[1]
	for _, tc := range []struct {
		name string
		edit func(nn.MapSource)
		want string
	}{
		{"missing", func(s nn.MapSource) { delete(s, "pos_block.1.proj.0.bias") }, fmt.Sprintf(`"pos_block.1.proj.0.bias" (shape [%d]) is missing`, d1)},
		{"unknown", func(s nn.MapSource) {
			s["blocks.1.0.attn.q_norm.weight"] = nn.Tensor{Data: make([]float32, d1), Shape: []int{d1}}
		}, `"blocks.1.0.attn.q_norm.weight"`},
		{"shape", func(s nn.MapSource) {
			s["blocks.1.0.attn.sr.weight"] = nn.Tensor{Data: make([]float32, d1*d1*4), Shape: []int{d1, d1, 2, 2}}
		}, `"blocks.1.0.attn.sr.weight" has shape [`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := goldenSource(t, f)
			tc.edit(src)
			_, err := New(cfg, src, Options{})
			if !errors.Is(err, nn.ErrWeight) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an ErrWeight saying %s", err, tc.want)
			}
		})
	}
}

// TestImageErrors: images the pyramid cannot take are errors that say why.
func TestImageErrors(t *testing.T) {
	_, m := loadGolden(t, Options{RunOptions: nn.RunOptions{MaxTokens: 1000}})
	img := func(c, h, w int) nn.Image { return nn.Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)} }
	for _, tc := range []struct {
		img  nn.Image
		err  error
		want string
	}{
		{img(3, 16, 64), nn.ErrImage, "too small for Twins"},
		{img(3, 64, 2), nn.ErrImage, "smaller than one"},
		{img(1, 64, 64), nn.ErrImage, "channels"},
		{img(3, 256, 256), nn.ErrTooManyTokens, "over the cap of 1000"},
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

// TestRandomWeights: the benchmark's weights load into the full-size model.
func TestRandomWeights(t *testing.T) {
	cfg := PCPVTSmall()
	m, err := New(cfg, RandomWeights(cfg, 1), Options{RunOptions: nn.RunOptions{Threads: 1}})
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

// TestFLOPs: FLOPsFor adds up over images, grows with the image, and
// counts nothing for an image too small to run.
func TestFLOPs(t *testing.T) {
	cfg := PCPVTSmall()
	m, err := New(cfg, RandomWeights(cfg, 1), Options{RunOptions: nn.RunOptions{Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := m.FLOPsFor([2]int{224, 224}), m.FLOPsFor([2]int{384, 512})
	if a <= 0 || b <= a || m.FLOPsFor([2]int{224, 224}, [2]int{384, 512}) != a+b {
		t.Errorf("224²: %g, 384×512: %g, both: %g", a, b, m.FLOPsFor([2]int{224, 224}, [2]int{384, 512}))
	}
	if f := m.FLOPsFor([2]int{16, 16}); f != 0 {
		t.Errorf("an image too small to run counts %g", f)
	}
	t.Logf("twins_pcpvt_small at 224²: %.2f G multiply-adds", a/2e9)
}
