package anyres_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
)

// evaNewGoldens are the Eva-class references added with DINOv3,
// Perception Encoder and EVA-02 CLIP (and RoPE + APE, which ran before).
var evaNewGoldens = []string{"dinov3_rope.safetensors", "pe_core.safetensors", "eva02_clip.safetensors", "vit_rope_ape.safetensors"}

// TestEvaNewFamilies: each loads through the front door from a hub
// folder written from it, is picked as eva, and meets every case at every
// kernel level.
func TestEvaNewFamilies(t *testing.T) {
	for _, file := range evaNewGoldens {
		t.Run(strings.TrimSuffix(file, ".safetensors"), func(t *testing.T) {
			f := golden.Open(t, file)
			dir := golden.WriteHubFolder(t, f, t.TempDir())
			perLevel(t, func(t *testing.T) {
				checkCases(t, f, func(t *testing.T, patch int) anyres.Model {
					m, err := anyres.Load(dir, anyres.Options{})
					if err != nil {
						t.Fatal(err)
					}
					if fam := m.Info().Family; fam != "eva" {
						t.Fatalf("picked family %q, want eva", fam)
					}
					return m
				})
			})
		})
	}
}

// TestEvaNewUnknownTensor: a tensor these models do not use is refused by
// name through the front door.
func TestEvaNewUnknownTensor(t *testing.T) {
	for _, file := range evaNewGoldens {
		f := golden.Open(t, file)
		dir := golden.WriteHubFolder(t, f, t.TempDir())
		golden.AddTensor(t, filepath.Join(dir, "model.safetensors"), "blocks.0.attn.q_norm.weight", []int{4}, make([]float32, 4))
		_, err := anyres.Load(dir, anyres.Options{})
		if !errors.Is(err, anyres.ErrWeight) || !strings.Contains(err.Error(), `"blocks.0.attn.q_norm.weight"`) {
			t.Errorf("%s: got %v, want an error naming blocks.0.attn.q_norm.weight", file, err)
		}
	}
}
