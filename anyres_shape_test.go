package anyres_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
)

// shapeGoldens hold one model of each family the front door loads from a
// hub folder.
var shapeGoldens = []string{
	"vit_dinov2_reg.safetensors",
	"swinv2_cpb.safetensors",
	"twins_svt.safetensors",
	"samvit_relpos.safetensors",
	"hiera_abswin.safetensors",
	"naflex_siglip.safetensors",
	"beit_relpos.safetensors",
	"eva02_rope_swiglu.safetensors",
}

// TestTokenCap: every family counts an image's tokens (Tokens) in the unit
// its cap (MaxTokens) checks: a model whose cap is the image's count runs
// it, one whose cap is one less refuses it with ErrTooManyTokens, and the
// same holds for a WithThreads copy. The image is the reference file's
// first single-image case.
func TestTokenCap(t *testing.T) {
	for _, name := range shapeGoldens {
		t.Run(strings.TrimSuffix(name, ".safetensors"), func(t *testing.T) {
			f := golden.Open(t, name)
			dir := golden.WriteHubFolder(t, f, t.TempDir())
			img, ok := firstImage(t, f)
			if !ok {
				t.Skip("no single-image case")
			}
			m, err := anyres.Load(dir, anyres.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			n := m.Tokens(img.H, img.W)
			if n <= 0 || n > m.MaxTokens() {
				t.Fatalf("a %d×%d image counts %d tokens; the default cap is %d", img.H, img.W, n, m.MaxTokens())
			}
			if f := m.FLOPs(img.H, img.W); f <= 0 {
				t.Errorf("FLOPs(%d, %d) = %g", img.H, img.W, f)
			}
			for _, limit := range []int{n, n - 1} {
				c, err := anyres.Load(dir, anyres.Options{MaxTokens: limit})
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if c.MaxTokens() != limit {
					t.Errorf("MaxTokens %d loads a model with the cap %d", limit, c.MaxTokens())
				}
				for _, net := range []anyres.Model{c, c.WithThreads(2)} {
					var out anyres.Output
					err := net.Forward(img, &out)
					if limit >= n && err != nil {
						t.Errorf("cap %d, %d tokens: %v", limit, n, err)
					}
					if limit < n && !errors.Is(err, anyres.ErrTooManyTokens) {
						t.Errorf("cap %d, %d tokens: got %v, want ErrTooManyTokens", limit, n, err)
					}
				}
			}
		})
	}
}

// firstImage is f's first single-image case input.
func firstImage(t *testing.T, f *golden.File) (anyres.Image, bool) {
	for _, c := range f.Cases {
		var p caseParams
		c.Decode(t, &p)
		if p.Height == 0 || len(c.Inputs) != 1 || p.PatchSize != 0 {
			continue
		}
		pix, shape := f.F32(t, c.Inputs[0])
		if len(shape) != 4 {
			continue
		}
		return anyres.Image{C: shape[1], H: shape[2], W: shape[3], Pix: pix}, true
	}
	return anyres.Image{}, false
}

// TestSwinTokenUnit: Swin counts first-stage patches against its cap, and
// its default cap admits a 2048² image; the front door must not replace it
// by the ViT default (the command once checked the last stage's grid
// against 16384 and a 640² image then failed in the forward pass).
func TestSwinTokenUnit(t *testing.T) {
	f := golden.Open(t, "swinv2_cpb.safetensors")
	m, err := anyres.Load(golden.WriteHubFolder(t, f, t.TempDir()), anyres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	p := m.Info().Patch
	if got, want := m.Tokens(640, 640), (640/p[0])*(640/p[1]); got != want {
		t.Errorf("Tokens(640, 640) = %d, want the %d first-stage patches", got, want)
	}
	if n := m.Tokens(2048, 2048); n > m.MaxTokens() {
		t.Errorf("the default cap %d refuses a 2048² image (%d patches)", m.MaxTokens(), n)
	}
}
