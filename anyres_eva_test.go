package anyres_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/nn"
)

// ropeRelGoldens are the families with position inside attention (RoPE,
// relative bias) and the family each must be picked as.
var ropeRelGoldens = []struct{ file, family string }{
	{"eva02_rope_swiglu.safetensors", "eva"},
	{"vit_rope_mixed.safetensors", "eva"},
	{"beit_relpos.safetensors", "beit"},
}

// TestRopeRelFamilies runs each reference through anyres.Load of a hub
// folder written from it, on every case at every kernel level.
func TestRopeRelFamilies(t *testing.T) {
	for _, g := range ropeRelGoldens {
		t.Run(strings.TrimSuffix(g.file, ".safetensors"), func(t *testing.T) {
			f := golden.Open(t, g.file)
			dir := golden.WriteHubFolder(t, f, t.TempDir())
			perLevel(t, func(t *testing.T) {
				checkCases(t, f, func(t *testing.T, patch int) anyres.Model {
					m, err := anyres.Load(dir, anyres.Options{})
					if err != nil {
						t.Fatal(err)
					}
					if fam := m.Info().Family; fam != g.family {
						t.Fatalf("picked family %q, want %q", fam, g.family)
					}
					return m
				})
			})
		})
	}
}

// TestRopeRelBareFile: the RoPE-Mixed and BEiT references load from the
// weights alone (no config.json): the family from their tensors (learned
// frequencies, relative tables), the architecture from the shapes.
func TestRopeRelBareFile(t *testing.T) {
	for _, g := range ropeRelGoldens[1:] {
		f := golden.Open(t, g.file)
		checkCases(t, f, func(t *testing.T, patch int) anyres.Model {
			m, err := anyres.Load(filepath.Join(golden.Dir(t), g.file), anyres.Options{Ignore: golden.NotWeight})
			if err != nil {
				t.Fatalf("%s: %v", g.file, err)
			}
			if fam := m.Info().Family; fam != g.family {
				t.Fatalf("%s: picked family %q, want %q", g.file, fam, g.family)
			}
			return m
		})
	}
}

// TestRopeRelUnknownTensor: a tensor the architecture does not use is
// refused by name (here a q-norm, which these families do not run).
func TestRopeRelUnknownTensor(t *testing.T) {
	for _, g := range ropeRelGoldens {
		f := golden.Open(t, g.file)
		dir := golden.WriteHubFolder(t, f, t.TempDir())
		golden.AddTensor(t, filepath.Join(dir, "model.safetensors"), "blocks.0.attn.q_norm.weight", []int{4}, make([]float32, 4))
		_, err := anyres.Load(dir, anyres.Options{})
		if !errors.Is(err, anyres.ErrWeight) || !strings.Contains(err.Error(), `"blocks.0.attn.q_norm.weight"`) {
			t.Errorf("%s: got %v, want an error naming blocks.0.attn.q_norm.weight", g.file, err)
		}
	}
}

// TestRopeRelMissingTensor: a missing tensor is named, with its shape.
func TestRopeRelMissingTensor(t *testing.T) {
	for _, c := range []struct {
		file, tensor string
		shape        bool // the error gives the shape the file has
	}{ // blocks.L: the file's last block
		{"eva02_rope_swiglu.safetensors", "blocks.L.attn.v_bias", true},
		{"vit_rope_mixed.safetensors", "rope.freqs", false},
		{"vit_rope_mixed.safetensors", "blocks.L.gamma_2", true},
		{"beit_relpos.safetensors", "blocks.L.attn.relative_position_bias_table", true},
		{"beit_relpos.safetensors", "blocks.0.attn.q_bias", true},
	} {
		f := golden.Open(t, c.file)
		depth := f.Blocks("blocks.")
		if strings.HasSuffix(c.tensor, "relative_position_bias_table") && depth < 2 {
			// A one-block BEiT without its table is one without relative bias.
			t.Logf("%s: one block, no other table to contradict", c.file)
			continue
		}
		c.tensor = strings.Replace(c.tensor, "blocks.L.", fmt.Sprintf("blocks.%d.", depth-1), 1)
		want := fmt.Sprintf("%q", c.tensor)
		if c.shape {
			want = f.Missing(t, c.tensor)
		}
		dir := golden.WriteHubFolder(t, f, t.TempDir())
		golden.RemoveTensor(t, filepath.Join(dir, "model.safetensors"), c.tensor)
		_, err := anyres.Load(dir, anyres.Options{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s without %s: got %v, want an error naming %s", c.file, c.tensor, err, want)
		}
	}
}

// TestRopeRelPick: each timm name goes to its family, and the plain ViT
// family leaves the RoPE ViTs to eva.
func TestRopeRelPick(t *testing.T) {
	f := golden.Open(t, "vit_rope_mixed.safetensors")
	for arch, want := range map[string]string{
		"vit_base_patch16_rope_mixed_224":      "eva",
		"vit_small_patch16_rope_224":           "eva",
		"vit_medium_patch16_rope_reg1_gap_256": "eva",
		"eva02_base_patch14_448":               "eva",
		"beit_base_patch16_224":                "beit",
		"beitv2_large_patch16_224":             "beit",
		"vit_base_patch16_224":                 "vit",
		"deit_tiny_distilled_patch16_224":      "vit",
		"vit_pe_core_base_patch16_224":         "eva",
		"vit_small_patch16_dinov3":             "eva",
	} {
		fam, ok := nn.Pick(arch, f.File)
		if !ok || fam.Name != want {
			t.Errorf("%s: picked %q (%v), want %q", arch, fam.Name, ok, want)
		}
	}
}

// TestRopeRelWithThreads: the front door changes these families' thread
// count, and the results do not change with it.
func TestRopeRelWithThreads(t *testing.T) {
	for _, g := range ropeRelGoldens {
		f := golden.Open(t, g.file)
		dir := golden.WriteHubFolder(t, f, t.TempDir())
		m, err := anyres.Load(dir, anyres.Options{Threads: 3})
		if err != nil {
			t.Fatal(err)
		}
		one, err := anyres.WithThreads(m, 1)
		if err != nil {
			t.Fatalf("%s: %v", g.file, err)
		}
		pix, shape := f.F32(t, f.Cases[len(f.Cases)-1].Inputs[0])
		img := anyres.Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix}
		var a, b anyres.Output
		if err := m.Forward(img, &a); err != nil {
			t.Fatal(err)
		}
		if err := one.Forward(img, &b); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(a.Tokens, b.Tokens) || !slices.Equal(a.Logits, b.Logits) {
			t.Errorf("%s: 3 threads and 1 differ", g.file)
		}
		m.Close()
	}
}
