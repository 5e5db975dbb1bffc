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

// TestSAM loads the SAM image encoder reference through anyres.Load of a
// hub folder and runs every case at every kernel level: the family is
// sam, and the features (timm's NCHW forward_features, here channels last
// on the patch grid) are within 1e-4 of timm's.
func TestSAM(t *testing.T) {
	f := golden.Open(t, "samvit_relpos.safetensors")
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	perLevel(t, func(t *testing.T) {
		m, err := anyres.Load(dir, anyres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if fam := m.Info().Family; fam != "sam" {
			t.Fatalf("family %q, want sam", fam)
		}
		for _, c := range f.Cases {
			pix, in := f.F32(t, c.Inputs[0])
			nchw, fs := f.F32(t, c.Outputs[0])
			var out anyres.Output
			if err := m.Forward(anyres.Image{C: in[1], H: in[2], W: in[3], Pix: pix}, &out); err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			ch, hw := fs[1], fs[2]*fs[3]
			if out.Grid.H != fs[2] || out.Grid.W != fs[3] || m.Info().Width != ch {
				t.Fatalf("%s: grid %v of width %d, timm gives %d×%d of %d", c.Name, out.Grid, m.Info().Width, fs[2], fs[3], ch)
			}
			want := make([]float32, len(nchw))
			for k := 0; k < ch; k++ {
				for p := 0; p < hw; p++ {
					want[p*ch+k] = nchw[k*hw+p]
				}
			}
			golden.Close(t, c.Name+" features", out.Tokens, want, 1e-4, 0)
		}
	})
}

// TestSAMTensors: through the front door, a SAM checkpoint with a tensor
// its architecture does not use is refused naming it, and one missing a
// tensor names it with its shape.
func TestSAMTensors(t *testing.T) {
	f := golden.Open(t, "samvit_relpos.safetensors")
	dir := golden.WriteHubFolder(t, f, t.TempDir())
	weights := filepath.Join(dir, "model.safetensors")
	unknown := "blocks.0.ls1.gamma"
	golden.AddTensor(t, weights, unknown, []int{4}, make([]float32, 4))
	if _, err := anyres.Load(dir, anyres.Options{}); !errors.Is(err, anyres.ErrWeight) || !strings.Contains(err.Error(), `"`+unknown+`"`) {
		t.Errorf("unknown tensor: got %v, want an error naming %s", err, unknown)
	}
	golden.RemoveTensor(t, weights, unknown)
	missing := "" // a block's table, as the file names it (any depth)
	for _, n := range f.Names() {
		if strings.HasSuffix(n, ".attn.rel_pos_w") {
			missing = n
		}
	}
	if missing == "" {
		t.Fatal("samvit_relpos.safetensors: no blocks.*.attn.rel_pos_w")
	}
	_, shape := f.F32(t, missing)
	golden.RemoveTensor(t, weights, missing)
	want := fmt.Sprintf("%q (shape %v)", missing, strings.ReplaceAll(fmt.Sprint(shape), ",", ""))
	if _, err := anyres.Load(dir, anyres.Options{}); !errors.Is(err, anyres.ErrWeight) || !strings.Contains(err.Error(), want) {
		t.Errorf("missing tensor: got %v, want an error saying %s", err, want)
	}
}
