package vit

import (
	"testing"

	"github.com/anyres/anyres/posenc"
)

// crop returns the top-left h×w part of img.
func crop(img Image, h, w int) Image {
	out := Image{C: img.C, H: h, W: w, Pix: make([]float32, img.C*h*w)}
	for c := 0; c < img.C; c++ {
		for y := 0; y < h; y++ {
			copy(out.Pix[(c*h+y)*w:(c*h+y+1)*w], img.Pix[(c*img.H+y)*img.W:])
		}
	}
	return out
}

// upsample2 repeats every pixel 2×2 (nearest-neighbour upsampling by 2).
func upsample2(img Image) Image {
	h, w := 2*img.H, 2*img.W
	out := Image{C: img.C, H: h, W: w, Pix: make([]float32, img.C*h*w)}
	for c := 0; c < img.C; c++ {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				out.Pix[(c*h+y)*w+x] = img.Pix[(c*img.H+y/2)*img.W+x/2]
			}
		}
	}
	return out
}

func forward(t *testing.T, m *Model, img Image) Output {
	t.Helper()
	var out Output
	if err := m.Forward(img, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEdgePolicies: crop equals running the cropped image; pad keeps the
// partial patches (the golden padded cases check its values); resize of a
// flat image equals the flat image at the resized size. Sizes are counted
// in the file's own patches.
func TestEdgePolicies(t *testing.T) {
	f := goldenFile(t, "vit_cls_learned.safetensors")
	cropM, err := LoadFile(f.File, Options{Edge: EdgeCrop})
	if err != nil {
		t.Fatal(err)
	}
	p := cropM.PatchSize()
	img := randomImage(10*p[0], 16*p[1], 3)
	oh, ow := 9*p[0]+3*p[0]/8, 15*p[1]+5*p[1]/8 // 9.4 × 15.6 patches
	odd := crop(img, oh, ow)

	got, want := forward(t, cropM, odd), forward(t, cropM, crop(img, 9*p[0], 15*p[1]))
	if got.Grid != (posenc.Grid{H: 9, W: 15}) || maxDiff(got.Tokens, want.Tokens) > 1e-6 {
		t.Errorf("crop: grid %s, differs from the cropped image by %g", got.Grid, maxDiff(got.Tokens, want.Tokens))
	}

	padM, _ := LoadFile(f.File, Options{Edge: EdgePad})
	if g := forward(t, padM, odd).Grid; g != (posenc.Grid{H: 10, W: 16}) {
		t.Errorf("pad: grid %s, want 10×16", g)
	}

	resizeM, _ := LoadFile(f.File, Options{Edge: EdgeResize})
	flat := func(h, w int) Image {
		im := Image{C: 3, H: h, W: w, Pix: make([]float32, 3*h*w)}
		for i := range im.Pix {
			im.Pix[i] = float32(i/(h*w)) - 0.7 // one value per channel
		}
		return im
	}
	got, want = forward(t, resizeM, flat(oh, ow)), forward(t, padM, flat(9*p[0], 16*p[1]))
	if got.Grid != (posenc.Grid{H: 9, W: 16}) || maxDiff(got.Tokens, want.Tokens) > 1e-5 {
		t.Errorf("resize: grid %s, differs from the flat image at %d×%d by %g", got.Grid, 9*p[0], 16*p[1], maxDiff(got.Tokens, want.Tokens))
	}
	// A size of whole patches is left alone.
	if d := maxDiff(forward(t, resizeM, img).Tokens, forward(t, padM, img).Tokens); d != 0 {
		t.Errorf("resize changed a whole-patch image: %g", d)
	}
}

// TestFlexiViT runs the checkpoint at twice its patch size on an image
// upsampled by 2 (nearest): with the kernel resized by the pseudo-inverse of
// that same upsampling, every patch token equals the native patch on the
// original image.
func TestFlexiViT(t *testing.T) {
	f := goldenFile(t, "vit_cls_learned.safetensors")
	nearest := posenc.ResampleOptions{Method: posenc.Nearest} // for the kernel and (in both) the position table
	base, err := LoadFile(f.File, Options{Resample: &nearest})
	if err != nil {
		t.Fatal(err)
	}
	p := base.PatchSize()
	img := randomImage(10*p[0], 16*p[1], 5)
	double := [2]int{2 * p[0], 2 * p[1]}
	flexi, err := LoadFile(f.File, Options{PatchSize: double, Resample: &nearest})
	if err != nil {
		t.Fatal(err)
	}
	if got := flexi.PatchSize(); got != double {
		t.Fatalf("patch size %v, want %v", got, double)
	}
	want, got := forward(t, base, img), forward(t, flexi, upsample2(img))
	if got.Grid != want.Grid {
		t.Fatalf("grid %s at patch %v, %s at %v", got.Grid, double, want.Grid, p)
	}
	if d := maxDiff(got.Tokens, want.Tokens); d > 1e-5 {
		t.Errorf("patch %v on the upsampled image differs by %g", double, d)
	} else {
		t.Logf("patch %v on the upsampled image: max |Δ| %.2g", double, d)
	}
	// Other patch sizes load and run (the kernel resize itself is tested in posenc).
	if testing.Short() {
		return
	}
	for _, p := range [][2]int{{8, 8}, {12, 20}} {
		m, err := LoadFile(f.File, Options{PatchSize: p})
		if err != nil {
			t.Fatal(err)
		}
		if g := forward(t, m, img).Grid; g != m.Grid(img.H, img.W) || g.H != (img.H+p[0]-1)/p[0] {
			t.Errorf("patch %v: grid %s", p, g)
		}
	}
	if _, err := LoadFile(f.File, Options{PatchSize: [2]int{0, 9}}); err == nil {
		t.Error("patch size 0×9 accepted")
	}
}

// recordPos is a position encoding that adds the token's grid row to every
// value of patch tokens and remembers the grids it saw.
type recordPos struct{ grids []posenc.Grid }

func (r *recordPos) AddTo(x []float32, prefix int, g posenc.Grid, dim int) error {
	if err := posenc.CheckTokens(x, prefix, g, dim); err != nil {
		return err
	}
	r.grids = append(r.grids, g)
	for i := prefix * dim; i < len(x); i++ {
		x[i] += float32((i/dim - prefix) / g.W)
	}
	return nil
}

// TestPosEncoderOption: another encoding replaces the stored table, sees
// each packed image's own grid, and changes the output.
func TestPosEncoderOption(t *testing.T) {
	f, plain := loadGolden(t, "vit_nope.safetensors", Options{})
	rec := &recordPos{}
	m, err := LoadFile(f.File, Options{PosEncoder: rec})
	if err != nil {
		t.Fatal(err)
	}
	imgs := []Image{goldenImage(t, f, f.Largest(t).Name), goldenImage(t, f, f.Smallest(t).Name)}
	outs := make([]Output, 2)
	if err := m.ForwardBatch(imgs, outs); err != nil {
		t.Fatal(err)
	}
	if len(rec.grids) != 2 || rec.grids[0] != m.Grid(imgs[0].H, imgs[0].W) || rec.grids[1] != m.Grid(imgs[1].H, imgs[1].W) {
		t.Errorf("encoder saw grids %v, want %s and %s", rec.grids, m.Grid(imgs[0].H, imgs[0].W), m.Grid(imgs[1].H, imgs[1].W))
	}
	if maxDiff(outs[0].Tokens, forward(t, plain, imgs[0]).Tokens) == 0 {
		t.Error("the encoder did not change the output")
	}
}
