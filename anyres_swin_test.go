package anyres_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
)

// TestSwin runs both Swin references through the front door at every
// kernel level: V2 from a hub folder written as timm writes one (its
// architecture inferred from config.json and the tensor shapes), v1 from
// the file alone (its own config metadata).
func TestSwin(t *testing.T) {
	t.Run("swinv2_cpb", func(t *testing.T) {
		f := golden.Open(t, "swinv2_cpb.safetensors")
		dir := golden.WriteHubFolder(t, f, t.TempDir())
		perLevel(t, func(t *testing.T) {
			checkCases(t, f, func(t *testing.T, patch int) anyres.Model {
				m, err := anyres.Load(dir, anyres.Options{})
				if err != nil {
					t.Fatal(err)
				}
				if info := m.Info(); info.Family != "swin" || info.Architecture == "" {
					t.Errorf("info %+v", info)
				}
				return m
			})
		})
	})
	t.Run("swin_small_window", func(t *testing.T) {
		name := "swin_small_window.safetensors"
		f := golden.Open(t, name)
		perLevel(t, func(t *testing.T) {
			checkCases(t, f, func(t *testing.T, patch int) anyres.Model {
				m, err := anyres.Load(filepath.Join(golden.Dir(t), name), anyres.Options{Ignore: golden.NotWeight})
				if err != nil {
					t.Fatal(err)
				}
				return m
			})
		})
	})
}

// TestSwinUnknownTensor: a hub checkpoint with a tensor Swin V2 does not
// have (timm's k_bias is a buffer, never saved) is refused by name.
func TestSwinUnknownTensor(t *testing.T) {
	f := golden.Open(t, "swinv2_cpb.safetensors")
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	golden.AddTensor(t, filepath.Join(dir, "model.safetensors"), "layers.0.blocks.0.attn.k_bias", []int{4}, make([]float32, 4))
	_, err := anyres.Load(dir, anyres.Options{})
	if !errors.Is(err, anyres.ErrWeight) || !strings.Contains(err.Error(), `"layers.0.blocks.0.attn.k_bias"`) {
		t.Fatalf("got %v, want an error naming layers.0.blocks.0.attn.k_bias", err)
	}
}
