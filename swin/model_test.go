package swin

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/anyres/anyres/internal/allocs"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels/kerneltest"
	"github.com/anyres/anyres/nn"
)

// The reference files: v1 carries anyres's own config metadata; V2 timm's
// hub config (the architecture is inferred from it and the tensors).
const (
	goldenV1 = "swin_small_window.safetensors"
	goldenV2 = "swinv2_cpb.safetensors"
)

var goldens = []string{goldenV1, goldenV2}

// perLevel runs body at every kernel level, or under -short at the best
// level only: the full run covers the rest.
func perLevel(t *testing.T, body func(t *testing.T)) {
	if testing.Short() {
		body(t)
		return
	}
	kerneltest.Run(t, body)
}

// goldenConfig is the architecture of a golden file: its own config
// metadata, or the one inferred from its hub config (with timm_kwargs as
// model_args, as timm's push_to_hub records them) and its tensors.
func goldenConfig(t testing.TB, f *golden.File) Config {
	t.Helper()
	if raw := ownConfig(f); raw != nil {
		c, err := ParseConfig(raw)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c, err := InferConfig(f, goldenHub(t, f))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// goldenHub is the hub config.json that golden.WriteHubFolder writes.
func goldenHub(t testing.TB, f *golden.File) *nn.HubConfig {
	t.Helper()
	var hub map[string]any
	f.MetaJSON(t, "hub_config", &hub)
	var kwargs map[string]any
	f.MetaJSON(t, "timm_kwargs", &kwargs)
	hub["model_args"] = kwargs
	raw, err := json.Marshal(hub)
	if err != nil {
		t.Fatal(err)
	}
	h, ok := nn.ParseHub(raw)
	if !ok {
		t.Fatal("hub_config is not a timm config.json")
	}
	return h
}

func loadGolden(t testing.TB, name string, opts options) (*golden.File, *Model) {
	t.Helper()
	f := golden.Open(t, name)
	opts.Ignore = golden.NotWeight
	m, err := newModel(goldenConfig(t, f), f, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return f, m
}

func goldenImage(t testing.TB, f *golden.File, name string) Image {
	pix, shape := f.F32(t, "in_"+name)
	return Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix}
}

func goldenImages(t testing.TB, f *golden.File) []Image {
	var imgs []Image
	for _, c := range f.Cases {
		imgs = append(imgs, goldenImage(t, f, c.Name))
	}
	return imgs
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// TestGolden compares forward_features and logits with timm at every
// golden size (grids that are not whole windows, odd merges), v1 and V2,
// on every kernel level.
func TestGolden(t *testing.T) {
	for _, name := range goldens {
		t.Run(name, func(t *testing.T) {
			f, m := loadGolden(t, name, options{})
			perLevel(t, func(t *testing.T) {
				for _, c := range f.Cases {
					t.Run(c.Name, func(t *testing.T) {
						img := goldenImage(t, f, c.Name)
						var out Output
						if err := m.Forward(img, &out); err != nil {
							t.Fatal(err)
						}
						feats, shape := f.F32(t, "features_"+c.Name)
						if out.Grid.H != shape[1] || out.Grid.W != shape[2] || out.Prefix != 0 {
							t.Fatalf("feature grid %s (prefix %d), want %d×%d", out.Grid, out.Prefix, shape[1], shape[2])
						}
						if g := m.Grid(img.H, img.W); g != out.Grid {
							t.Errorf("Grid gives %s, the forward pass %s", g, out.Grid)
						}
						golden.Close(t, "features", out.Tokens, feats, 1e-4, 0)
						logits, _ := f.F32(t, "logits_"+c.Name)
						golden.Close(t, "logits", out.Logits, logits, 1e-4, 0)
						t.Logf("max |Δ| features %.2g, logits %.2g", maxDiff(out.Tokens, feats), maxDiff(out.Logits, logits))
					})
				}
			})
		})
	}
}

// TestThreads checks that the worker count does not change a bit.
func TestThreads(t *testing.T) {
	for _, name := range goldens {
		t.Run(name, func(t *testing.T) {
			f, m1 := loadGolden(t, name, options{Threads: 1})
			_, m3 := loadGolden(t, name, options{Threads: 3})
			for _, img := range goldenImages(t, f) {
				var a, b Output
				if err := m1.Forward(img, &a); err != nil {
					t.Fatal(err)
				}
				if err := m3.Forward(img, &b); err != nil {
					t.Fatal(err)
				}
				if d := maxDiff(a.Tokens, b.Tokens); d != 0 {
					t.Errorf("%d×%d: 1 and 3 threads differ by %g", img.H, img.W, d)
				}
				if d := maxDiff(a.Logits, b.Logits); d != 0 {
					t.Errorf("%d×%d: logits of 1 and 3 threads differ by %g", img.H, img.W, d)
				}
			}
		})
	}
}

// TestPacking runs the golden images alone and packed together (in two
// orders, one image twice): each image's outputs are the same bits.
func TestPacking(t *testing.T) {
	for _, name := range goldens {
		t.Run(name, func(t *testing.T) {
			f, m := loadGolden(t, name, options{Threads: 2})
			imgs := goldenImages(t, f)
			imgs = append(imgs, imgs[0])
			alone := make([]Output, len(imgs))
			for i, img := range imgs {
				if err := m.Forward(img, &alone[i]); err != nil {
					t.Fatal(err)
				}
			}
			packed := make([]Output, len(imgs))
			if err := m.ForwardBatch(imgs, packed); err != nil {
				t.Fatal(err)
			}
			rev := make([]Image, len(imgs))
			for i := range imgs {
				rev[i] = imgs[len(imgs)-1-i]
			}
			revOut := make([]Output, len(imgs))
			if err := m.ForwardBatch(rev, revOut); err != nil {
				t.Fatal(err)
			}
			for i := range imgs {
				for _, o := range []Output{packed[i], revOut[len(imgs)-1-i]} {
					if o.Grid != alone[i].Grid {
						t.Fatalf("image %d: grid %s packed, %s alone", i, o.Grid, alone[i].Grid)
					}
					if d := maxDiff(o.Tokens, alone[i].Tokens); d != 0 {
						t.Errorf("image %d: tokens differ by %g packed", i, d)
					}
					if d := maxDiff(o.Logits, alone[i].Logits); d != 0 {
						t.Errorf("image %d: logits differ by %g packed", i, d)
					}
				}
			}
		})
	}
}

// TestNoAllocs: a warm forward pass (one image, or a packed batch)
// allocates nothing, with one worker and with several, also after a
// garbage collection. Warm means every worker's scratch, and each of the
// kernels' scratch objects (a free list the workers share, each object
// growing when it first meets a larger product), has seen the largest
// shapes: with several workers that takes a few passes. ModelAllocs
// leaves out the runtime's own allocations (wait records, its background
// goroutines), which follow the scheduler, not the model.
func TestNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are not meaningful under -race")
	}
	for _, name := range goldens {
		for _, threads := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/%d", name, threads), func(t *testing.T) {
				f, m := loadGolden(t, name, options{Threads: threads})
				imgs := goldenImages(t, f)
				var out Output
				outs := make([]Output, len(imgs))
				one := func() {
					if err := m.Forward(imgs[1], &out); err != nil {
						t.Fatal(err)
					}
				}
				batch := func() {
					if err := m.ForwardBatch(imgs, outs); err != nil {
						t.Fatal(err)
					}
				}
				for range 10 {
					one()
					batch()
				}
				if n := allocs.PerRun(5, one); n != 0 {
					t.Errorf("Forward: %g allocations per run", n)
				}
				if n := allocs.PerRun(5, batch); n != 0 {
					t.Errorf("ForwardBatch: %g allocations per run", n)
				}
				if n := allocs.PerRun(3, func() { runtime.GC(); one() }); n != 0 {
					t.Errorf("Forward after a garbage collection: %g allocations per run", n)
				}
			})
		}
	}
}

// TestConcurrent runs one model from several goroutines at different sizes
// (the race detector checks the buffers are not shared).
func TestConcurrent(t *testing.T) {
	for _, name := range goldens {
		t.Run(name, func(t *testing.T) {
			f, m := loadGolden(t, name, options{Threads: 2})
			done := make(chan error)
			for _, c := range f.Cases {
				img := goldenImage(t, f, c.Name)
				want, _ := f.F32(t, "features_"+c.Name)
				go func() {
					var out Output
					for range 3 {
						if err := m.Forward(img, &out); err != nil {
							done <- err
							return
						}
						if d := maxDiff(out.Tokens, want); d > 1e-4 {
							done <- fmt.Errorf("%s: max |Δ| %g", c.Name, d)
							return
						}
					}
					done <- nil
				}()
			}
			for range f.Cases {
				if err := <-done; err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func ExampleModel_Forward() {
	// A small Swin (two stages, 7×7 windows) on random weights, where an
	// application would Load a checkpoint.
	cfg := Config{Version: 1, PatchSize: [2]int{4, 4}, InChans: 3, EmbedDim: 24, Depths: []int{2, 2}, NumHeads: []int{2, 4},
		WindowSize: [2]int{7, 7}, MLPRatio: 4, NormEps: 1e-5, NumClasses: 10, GlobalPool: "avg", ImgSize: [2]int{224, 224}}
	src, err := RandomWeights(cfg, 1)
	if err != nil {
		panic(err)
	}
	m, err := newModel(cfg, src, options{})
	if err != nil {
		panic(err)
	}
	defer m.Close()
	// 100×60 pixels: a 25×15 patch grid, padded to 28×21 for 7×7 windows;
	// patch merging pads it to 26×16 and gives 13×8.
	img := Image{C: 3, H: 100, W: 60, Pix: make([]float32, 3*100*60)}
	var out Output
	if err := m.Forward(img, &out); err != nil {
		panic(err)
	}
	fmt.Println(out.Grid, len(out.Tokens), len(out.Pooled), len(out.Logits))
	// Output: 13×8 4992 48 10
}

// TestCloseWhileRunning: Close waits for the forward passes in flight;
// every pass either completes or reports ErrClosed.
func TestCloseWhileRunning(t *testing.T) {
	f, m := loadGolden(t, goldenV2, options{Threads: 2})
	img := goldenImage(t, f, f.Cases[0].Name)
	want, _ := f.F32(t, "features_"+f.Cases[0].Name)
	done := make(chan error)
	started := make(chan struct{}, 3)
	for range 3 {
		go func() {
			var out Output
			for i := 0; ; i++ {
				err := m.Forward(img, &out)
				if i == 0 {
					started <- struct{}{}
				}
				if errors.Is(err, ErrClosed) {
					done <- nil
					return
				}
				if err != nil {
					done <- err
					return
				}
				if d := maxDiff(out.Tokens, want); d > 1e-4 {
					done <- fmt.Errorf("features differ by %g", d)
					return
				}
			}
		}()
	}
	for range 3 {
		<-started
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
