package anyres_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
)

// TestHiera runs the Hiera reference (abs_win_pos_embed) through
// anyres.Load of a hub folder at every kernel level.
func TestHiera(t *testing.T) {
	f := golden.Open(t, "hiera_abswin.safetensors")
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	perLevel(t, func(t *testing.T) {
		checkCases(t, f, func(t *testing.T, patch int) anyres.Model {
			m, err := anyres.Load(dir, anyres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Info().Family != "hiera" {
				t.Fatalf("the front door gave family %q", m.Info().Family)
			}
			return m
		})
	})
}

// TestHieraTensors: through the front door, a tensor the architecture
// does not use is refused naming it, a missing one named with its shape.
func TestHieraTensors(t *testing.T) {
	f := golden.Open(t, "hiera_abswin.safetensors")
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	weights := filepath.Join(dir, "model.safetensors")
	// The first block never expands; the first one that does (a stage
	// start: its index depends on the file's stages) misses its bias.
	unknown, missing := "blocks.0.proj.weight", ""
	for i := 1; missing == "" && f.Has(fmt.Sprintf("blocks.%d.norm1.weight", i)); i++ {
		if n := fmt.Sprintf("blocks.%d.proj.bias", i); f.Has(n) {
			missing = n
		}
	}
	if missing == "" {
		t.Fatal("hiera_abswin.safetensors: no block with an expand projection (blocks.i.proj)")
	}
	shape, err := f.Shape(missing)
	if err != nil {
		t.Fatal(err)
	}
	golden.AddTensor(t, weights, unknown, []int{4}, make([]float32, 4))
	if _, err := anyres.Load(dir, anyres.Options{}); !errors.Is(err, anyres.ErrWeight) || !strings.Contains(err.Error(), `"`+unknown+`"`) {
		t.Errorf("unknown tensor: got %v, want an error naming %s", err, unknown)
	}
	golden.RemoveTensor(t, weights, unknown)
	golden.RemoveTensor(t, weights, missing)
	want := fmt.Sprintf("%q (shape %v)", missing, shape)
	if _, err := anyres.Load(dir, anyres.Options{}); !errors.Is(err, anyres.ErrWeight) || !strings.Contains(err.Error(), want) {
		t.Errorf("missing tensor: got %v, want an error saying %s", err, want)
	}
}
