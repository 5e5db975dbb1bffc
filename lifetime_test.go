package anyres_test

import (
	"errors"
	"sync"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
)

// TestLifetimeStress runs forward passes on a model and on WithThreads
// copies from several goroutines while another closes the model: every
// pass either completes with the same bits as a lone pass or fails with
// ErrClosed, never a crash (run it under -race too).
func TestLifetimeStress(t *testing.T) {
	f := golden.Open(t, "vit_dinov2_reg.safetensors")
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	pix, shape := f.F32(t, f.Cases[0].Inputs[0])
	img := anyres.Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix}
	for round := range 3 {
		m, err := anyres.Load(dir, anyres.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		var ref anyres.Output
		if err := m.Forward(img, &ref); err != nil {
			t.Fatal(err)
		}
		copies := []anyres.Model{m}
		for _, n := range []int{1, 3} {
			c, err := anyres.WithThreads(m, n)
			if err != nil {
				t.Fatal(err)
			}
			copies = append(copies, c)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 64)
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := copies[g%len(copies)]
				var out anyres.Output
				for range 20 {
					err := c.Forward(img, &out)
					if errors.Is(err, anyres.ErrClosed) {
						return
					}
					if err != nil {
						errs <- err
						return
					}
					for i := range out.Tokens {
						if out.Tokens[i] != ref.Tokens[i] {
							errs <- errors.New("a pass racing with Close gave other bits")
							return
						}
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := copies[1+round%2].Close(); err != nil {
				errs <- err
			}
		}()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		var out anyres.Output
		for _, c := range copies {
			if err := c.Forward(img, &out); !errors.Is(err, anyres.ErrClosed) {
				t.Fatalf("after Close: %v", err)
			}
		}
	}
}

// TestReadFileOption loads the weights read into memory instead of mapped:
// the same outputs.
func TestReadFileOption(t *testing.T) {
	f := golden.Open(t, "vit_siglip_map.safetensors")
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	checkCases(t, f, func(t *testing.T, _ int) anyres.Model {
		m, err := anyres.Load(dir, anyres.Options{ReadFile: true})
		if err != nil {
			t.Fatal(err)
		}
		return m
	})
}

// TestWithThreadsEveryFamily: every family's model gives a WithThreads copy
// that computes the same bits on another worker count and shares the
// model's lifetime (closing the copy closes the model).
func TestWithThreadsEveryFamily(t *testing.T) {
	for _, name := range golden.Models(t) {
		t.Run(name, func(t *testing.T) {
			f := golden.Open(t, name)
			if !f.HasHub() {
				t.Skip("no hub config")
			}
			dir := golden.WriteHubFolder(t, f, t.TempDir())
			m, err := anyres.Load(dir, anyres.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			pix, shape := f.F32(t, f.Cases[0].Inputs[0])
			img := anyres.Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix}
			var ref, out anyres.Output
			if err := m.Forward(img, &ref); err != nil {
				t.Fatal(err)
			}
			c, err := anyres.WithThreads(m, 3)
			if err != nil {
				t.Fatalf("%s: %v", m.Info().Family, err)
			}
			if err := c.Forward(img, &out); err != nil {
				t.Fatal(err)
			}
			for i := range ref.Tokens {
				if out.Tokens[i] != ref.Tokens[i] {
					t.Fatalf("token value %d: %v on 3 threads, %v on 1", i, out.Tokens[i], ref.Tokens[i])
				}
			}
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			if err := m.Forward(img, &out); !errors.Is(err, anyres.ErrClosed) {
				t.Fatalf("the model after closing its copy: %v, want ErrClosed", err)
			}
		})
	}
}
