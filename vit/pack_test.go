package vit

import (
	"math"
	"runtime"
	"sync"
	"testing"

	"github.com/anyres/anyres/internal/allocs"
	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/internal/golden"
)

// runnable returns the golden cases of f the model can run, with their images.
func runnable(t *testing.T, f *golden.File, m *Model) []Image {
	var imgs []Image
	for _, c := range f.Cases {
		img := goldenImage(t, f, c.Name)
		var out Output
		if err := m.Forward(img, &out); err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	return imgs
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

// TestPacking runs every golden image of a model alone and all of them
// packed into one sequence (in two orders): each image's outputs must be
// the same; and each with Output.HeadOnly.
func TestPacking(t *testing.T) {
	files := goldenModels
	if testing.Short() { // one model under -race and emulators
		files = files[2:]
	}
	for _, file := range files {
		t.Run(file, func(t *testing.T) {
			f, m := loadGolden(t, file, Options{})
			imgs := runnable(t, f, m)
			perLevel(t, func(t *testing.T) { familytest.Packing(t, m, imgs) })
		})
	}
}

// TestThreads: results are bit-identical for any number of workers.
func TestThreads(t *testing.T) {
	f := golden.Open(t, "vit_nope.safetensors")
	img := goldenImage(t, f, f.Largest(t).Name)
	threadCounts := []int{1, 2, 3, 5}
	if testing.Short() {
		img, threadCounts = goldenImage(t, f, f.Smallest(t).Name), threadCounts[:2]
	}
	perLevel(t, func(t *testing.T) {
		var want Output
		for _, threads := range threadCounts {
			m, err := LoadFile(f.File, Options{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			var out Output
			if err := m.Forward(img, &out); err != nil {
				t.Fatal(err)
			}
			if threads == 1 {
				want = out
				continue
			}
			if d := maxDiff(out.Tokens, want.Tokens); d != 0 {
				t.Errorf("%d threads: tokens differ from 1 thread by %g", threads, d)
			}
		}
	})
}

// TestConcurrentUse runs one model from several goroutines at once.
func TestConcurrentUse(t *testing.T) {
	f, m := loadGolden(t, "vit_nope.safetensors", Options{Threads: 2})
	imgs := []Image{goldenImage(t, f, f.Largest(t).Name), goldenImage(t, f, f.Smallest(t).Name)}
	want := make([]Output, len(imgs))
	for i := range imgs {
		if err := m.Forward(imgs[i], &want[i]); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	goroutines := 6
	if testing.Short() {
		goroutines = 3
	}
	for g := 0; g < goroutines; g++ {
		wg.Go(func() {
			var out Output
			for r := 0; r < 2; r++ {
				i := (g + r) % len(imgs)
				if err := m.Forward(imgs[i], &out); err != nil {
					t.Error(err)
					return
				}
				if d := maxDiff(out.Tokens, want[i].Tokens); d != 0 {
					t.Errorf("goroutine %d: image %d differs by %g", g, i, d)
				}
			}
		})
	}
	wg.Wait()
}

// TestNoAllocs: once warm for a size, a forward pass allocates nothing.
func TestNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("AllocsPerRun is slow under the race detector and emulators")
	}
	f, m := loadGolden(t, "vit_nope.safetensors", Options{Threads: 2})
	img := goldenImage(t, f, f.Smallest(t).Name)
	var out Output
	if err := m.Forward(img, &out); err != nil {
		t.Fatal(err)
	}
	if n := allocs.PerRun(5, func() { m.Forward(img, &out) }); n != 0 {
		t.Errorf("%v allocations per warm forward", n)
	}
	// Garbage collections between passes must not empty the scratch the
	// kernels and the model keep (a sync.Pool would).
	if n := allocs.PerRun(5, func() { runtime.GC(); m.Forward(img, &out) }); n != 0 {
		t.Errorf("%v allocations per warm forward after a garbage collection", n)
	}
}
