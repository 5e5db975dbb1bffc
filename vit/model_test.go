package vit

import (
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/kernels/kerneltest"
)

var goldenModels = []string{"vit_cls_learned.safetensors", "vit_reg_noembedcls_avg.safetensors", "vit_nope.safetensors"}

// goldenImage returns the case's input image.
func goldenImage(t testing.TB, f *golden.File, name string) Image {
	pix, shape := f.F32(t, "in_"+name)
	return Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix}
}

// perLevel runs body at every kernel level, or under -short (race
// detector, emulators) at the best level only: the full run covers the rest.
func perLevel(t *testing.T, body func(t *testing.T)) {
	if testing.Short() {
		body(t)
		return
	}
	kerneltest.Run(t, body)
}

func goldenFile(t testing.TB, name string) *golden.File { return golden.Open(t, name) }

func loadGolden(t testing.TB, name string, opts Options) (*golden.File, *Model) {
	f := golden.Open(t, name)
	m, err := LoadFile(f.File, opts)
	if err != nil {
		t.Fatal(err)
	}
	return f, m
}

// TestGolden compares forward_features and logits with timm at every size
// of every golden model, on every kernel level.
func TestGolden(t *testing.T) {
	for _, file := range goldenModels {
		t.Run(file, func(t *testing.T) {
			f, m := loadGolden(t, file, Options{})
			perLevel(t, func(t *testing.T) {
				for _, c := range f.Cases {
					var out Output
					err := m.Forward(goldenImage(t, f, c.Name), &out)
					if err != nil {
						t.Fatalf("%s: %v", c.Name, err)
					}
					feats, shape := f.F32(t, "features_"+c.Name)
					if got := out.Prefix + out.Grid.N(); got != shape[1] {
						t.Fatalf("%s: %d tokens, want %d", c.Name, got, shape[1])
					}
					golden.Close(t, c.Name+" features", out.Tokens, feats, 1e-4, 0)
					logits, _ := f.F32(t, "logits_"+c.Name)
					golden.Close(t, c.Name+" logits", out.Logits, logits, 1e-4, 0)
					t.Logf("%s: grid %s, max |Δ| features %.2g, logits %.2g", c.Name, out.Grid, maxDiff(out.Tokens, feats), maxDiff(out.Logits, logits))
				}
			})
		})
	}
}

// LoadFile loads a golden file's model, leaving its reference tensors out
// of the tensor accounting.
func LoadFile(f *tensorfile.File, opts Options) (*Model, error) {
	opts.Ignore = golden.NotWeight
	return loadFile(f, opts)
}
