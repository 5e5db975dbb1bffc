package anyres_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/naflex"
	"github.com/anyres/anyres/nn"
)

// TestNaFlexTwins runs the NaFlex (SigLIP 2), Twins-PCPVT and Twins-SVT references
// through anyres.Load of a hub folder at every kernel level; for NaFlex also
// timm's padded batch of pre-patchified images, whose valid rows the
// packed batch must give.
func TestNaFlexTwins(t *testing.T) {
	for _, name := range []string{"naflex_siglip.safetensors", "twins_pcpvt_peg.safetensors", "twins_svt.safetensors"} {
		t.Run(name, func(t *testing.T) {
			f := golden.Open(t, name)
			dir := golden.WriteHubFolder(t, f, t.TempDir())
			m, err := anyres.Load(dir, anyres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			perLevel(t, func(t *testing.T) {
				checkCases(t, f, func(t *testing.T, patch int) anyres.Model {
					m, err := anyres.Load(dir, anyres.Options{})
					if err != nil {
						t.Fatal(err)
					}
					return m
				})
				if name == "naflex_siglip.safetensors" {
					checkNaFlexBatch(t, f, name, m)
				}
			})
		})
	}
}

// checkNaFlexBatch runs the file's padded NaFlex batch.
func checkNaFlexBatch(t *testing.T, f *golden.File, file string, m anyres.Model) {
	nm, ok := m.(*naflex.Model)
	if !ok {
		t.Fatalf("the front door gave a %T for a NaFlex checkpoint (family %q)", m, m.Info().Family)
	}
	data, shape := f.F32(t, "naflex_patches")
	coord, _ := f.I64(t, "naflex_coord")
	valid, _ := golden.Bool(t, file, "naflex_valid")
	feats, _ := f.F32(t, "naflex_features")
	logits, _ := f.F32(t, "naflex_logits")
	p := naflex.Patches{Batch: shape[0], Rows: shape[1], Data: data, Coord: coord, Valid: valid}
	outs := make([]nn.Output, p.Batch)
	if err := nm.ForwardPatches(p, outs); err != nil {
		t.Fatal(err)
	}
	d, nc := m.Info().Width, m.Info().NumClasses
	for b, o := range outs {
		n := o.Grid.N()
		for r := 0; r < p.Rows; r++ {
			if valid[b*p.Rows+r] != (r < n) {
				t.Fatalf("image %d: row %d validity %v, but its grid %v has %d patches", b, r, valid[b*p.Rows+r], o.Grid, n)
			}
		}
		golden.Close(t, fmt.Sprintf("batch image %d features", b), o.Tokens, feats[b*p.Rows*d:(b*p.Rows+n)*d], 1e-4, 0)
		golden.Close(t, fmt.Sprintf("batch image %d logits", b), o.Logits, logits[b*nc:(b+1)*nc], 1e-4, 0)
	}
}

// TestNaFlexTwinsTensors: through the front door, a hub checkpoint with a
// tensor its architecture does not use is refused naming it, and one
// missing a tensor names it with its shape.
func TestNaFlexTwinsTensors(t *testing.T) {
	for _, c := range []struct{ file, unknown, missing string }{
		{"naflex_siglip.safetensors", "", "attn_pool.kv.bias"}, // unknown: a block past the last
		{"twins_pcpvt_peg.safetensors", "blocks.3.0.attn.sr.weight", "pos_block.2.proj.0.weight"},
		// SVT's first block of a stage attends locally: no key reduction.
		{"twins_svt.safetensors", "blocks.2.0.attn.sr.weight", "blocks.1.0.attn.qkv.bias"},
	} {
		t.Run(c.file, func(t *testing.T) {
			f := golden.Open(t, c.file)
			if c.unknown == "" {
				depth := 0
				for f.Has(fmt.Sprintf("blocks.%d.norm1.weight", depth)) {
					depth++
				}
				c.unknown = fmt.Sprintf("blocks.%d.norm1.weight", depth)
			}
			dir := golden.WriteHubFolder(t, f, t.TempDir())
			weights := filepath.Join(dir, "model.safetensors")
			golden.AddTensor(t, weights, c.unknown, []int{4}, make([]float32, 4))
			if _, err := anyres.Load(dir, anyres.Options{}); !errors.Is(err, anyres.ErrWeight) || !strings.Contains(err.Error(), `"`+c.unknown+`"`) {
				t.Errorf("unknown tensor: got %v, want an error naming %s", err, c.unknown)
			}
			golden.RemoveTensor(t, weights, c.unknown)
			golden.RemoveTensor(t, weights, c.missing)
			want := f.Missing(t, c.missing)
			if _, err := anyres.Load(dir, anyres.Options{}); !errors.Is(err, anyres.ErrWeight) || !strings.Contains(err.Error(), want) {
				t.Errorf("missing tensor: got %v, want an error saying %s", err, want)
			}
		})
	}
}
