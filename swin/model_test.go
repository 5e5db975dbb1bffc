package swin

import (
	"fmt"
	"math"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels/kerneltest"
)

const goldenName = "swin_small_window.safetensors"

// perLevel runs body at every kernel level, or under -short at the best
// level only: the full run covers the rest.
func perLevel(t *testing.T, body func(t *testing.T)) {
	if testing.Short() {
		body(t)
		return
	}
	kerneltest.Run(t, body)
}

func loadGolden(t testing.TB, opts Options) (*golden.File, *Model) {
	f := golden.Open(t, goldenName)
	m, err := LoadFile(f.File, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f, m
}

func goldenImage(t testing.TB, f *golden.File, name string) Image {
	pix, shape := f.F32(t, "in_"+name)
	return Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix}
}

func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// TestGolden compares forward_features and logits with timm at every
// golden size (224², and 160×288 and 252×172, whose grids are not whole
// windows and whose second stage merges an odd grid), on every kernel level.
func TestGolden(t *testing.T) {
	f, m := loadGolden(t, Options{})
	perLevel(t, func(t *testing.T) {
		for _, c := range f.Cases {
			t.Run(c.Name, func(t *testing.T) {
				var out Output
				if err := m.Forward(goldenImage(t, f, c.Name), &out); err != nil {
					t.Fatal(err)
				}
				feats, shape := f.F32(t, "features_"+c.Name)
				if out.FeatH != shape[1] || out.FeatW != shape[2] {
					t.Fatalf("feature grid %d×%d, want %d×%d", out.FeatH, out.FeatW, shape[1], shape[2])
				}
				golden.Close(t, "features", out.Features, feats, 1e-4, 0)
				logits, _ := f.F32(t, "logits_"+c.Name)
				golden.Close(t, "logits", out.Logits, logits, 1e-4, 0)
				t.Logf("max |Δ| features %.2g, logits %.2g", maxDiff(out.Features, feats), maxDiff(out.Logits, logits))
			})
		}
	})
}

// TestThreads checks that the worker count does not change the result.
func TestThreads(t *testing.T) {
	f, m1 := loadGolden(t, Options{Threads: 1})
	_, m3 := loadGolden(t, Options{Threads: 3})
	img := goldenImage(t, f, "252x172")
	var a, b Output
	if err := m1.Forward(img, &a); err != nil {
		t.Fatal(err)
	}
	if err := m3.Forward(img, &b); err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(a.Features, b.Features); d != 0 {
		t.Fatalf("1 and 3 threads differ by %g", d)
	}
}

func ExampleModel_Forward() {
	m, err := Load("../testdata/golden/swin_small_window.safetensors", Options{})
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
	fmt.Println(out.FeatH, out.FeatW, len(out.Features), len(out.Logits))
	// Output: 13 8 4992 10
}

// TestConcurrent runs one model from several goroutines at different sizes
// (the race detector checks the buffers are not shared).
func TestConcurrent(t *testing.T) {
	f, m := loadGolden(t, Options{Threads: 2})
	done := make(chan error)
	for _, c := range f.Cases {
		go func() {
			var out Output
			img := goldenImage(t, f, c.Name)
			want, _ := f.F32(t, "features_"+c.Name)
			for range 3 {
				if err := m.Forward(img, &out); err != nil {
					done <- err
					return
				}
				if d := maxDiff(out.Features, want); d > 1e-4 {
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
}
