package imageprep

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	xdraw "golang.org/x/image/draw"
)

// TestResampleMatchesXDraw: the kernel resize gives the pixels of
// x/image/draw's scaler on Opaque's copy, bit for bit, for every decoded
// type (JPEG's subsampled YCbCr, PNG's gray, NRGBA and RGBA, and others
// through the generic path), bounds not at the origin, and sizes that
// shrink, grow, or both.
func TestResampleMatchesXDraw(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	const sh, sw = 37, 53
	rect := image.Rect(3, 5, 3+sw, 5+sh)
	fill := func(pix []uint8) {
		for i := range pix {
			pix[i] = uint8(rng.IntN(256))
		}
	}
	var srcs []image.Image
	for _, r := range []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410} {
		m := image.NewYCbCr(image.Rect(0, 0, sw+7, sh+9), r)
		fill(m.Y)
		fill(m.Cb)
		fill(m.Cr)
		srcs = append(srcs, m.SubImage(image.Rect(3, 5, 3+sw, 5+sh)))
	}
	gray := image.NewGray(rect)
	fill(gray.Pix)
	nrgba := image.NewNRGBA(rect)
	fill(nrgba.Pix) // transparent pixels too: their colour is kept
	opaque := image.NewNRGBA(rect)
	fill(opaque.Pix)
	for i := 3; i < len(opaque.Pix); i += 4 {
		opaque.Pix[i] = 0xff
	}
	rgba := image.NewRGBA(rect)
	for i := 0; i < len(rgba.Pix); i += 4 {
		a := uint8(rng.IntN(256))
		rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2], rgba.Pix[i+3] = uint8(rng.IntN(int(a)+1)), uint8(rng.IntN(int(a)+1)), uint8(rng.IntN(int(a)+1)), a
	}
	rgba64 := image.NewRGBA64(rect)
	fill(rgba64.Pix)
	pal := image.NewPaletted(rect, color.Palette{color.Black, color.NRGBA{200, 10, 30, 128}, color.White})
	for i := range pal.Pix {
		pal.Pix[i] = uint8(rng.IntN(3))
	}
	srcs = append(srcs, gray, nrgba, opaque, rgba, rgba64, pal)

	for _, f := range []Filter{Bicubic, Bilinear, Lanczos} {
		s, err := f.scaler()
		if err != nil {
			t.Fatal(err)
		}
		for i, src := range srcs {
			for _, size := range [][2]int{{11, 7}, {1, 1}, {80, 90}, {20, 100}, {sh, 17}} {
				h, w := size[0], size[1]
				got, err := DefaultLimits.ResizeFilter(src, h, w, f)
				if err != nil {
					t.Fatal(err)
				}
				o := Opaque(src)
				want := image.NewRGBA64(image.Rect(0, 0, w, h))
				s.Scale(want, want.Bounds(), o, o.Bounds(), xdraw.Src, nil)
				if !bytes.Equal(got.Pix, want.Pix) || got.Rect != want.Rect {
					t.Errorf("%v, source %d (%T), %d×%d → %d×%d: pixels differ from x/image/draw's", f, i, src, sh, sw, h, w)
				}
			}
		}
	}
}

// TestRGBRowsMatchOpaque: the rows hold Opaque's colours.
func TestRGBRowsMatchOpaque(t *testing.T) {
	m := image.NewYCbCr(image.Rect(1, 2, 30, 21), image.YCbCrSubsampleRatio420)
	for i := range m.Y {
		m.Y[i] = uint8(i * 7)
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = uint8(i*13), uint8(255-i*5)
	}
	o := Opaque(m)
	h, w := o.Bounds().Dy(), o.Bounds().Dx()
	rows := rgbRows(m)
	r, g, b := make([]uint16, w), make([]uint16, w), make([]uint16, w)
	for y := range h {
		rows(y, r, g, b)
		for x := range w {
			c := o.RGBA64At(x, y)
			if got := [3]uint16{r[x], g[x], b[x]}; got != [3]uint16{c.R, c.G, c.B} {
				t.Fatalf("(%d, %d): %v, want %v", x, y, got, fmt.Sprint(c))
			}
		}
	}
}

// BenchmarkPreparePhoto prepares a decoded phone photo (JPEG's 4:2:0
// YCbCr) for a 224² model and for a 256-token budget:
//
//	go test ./imageprep -run - -bench PreparePhoto
func BenchmarkPreparePhoto(b *testing.B) {
	for _, s := range [][2]int{{1080, 1920}, {3024, 4032}} {
		h, w := s[0], s[1]
		m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
		for i := range m.Y {
			m.Y[i] = uint8(i * 7 % 251)
		}
		for i := range m.Cb {
			m.Cb[i], m.Cr[i] = uint8(i*13%241), uint8(i*3%239)
		}
		for _, o := range []struct {
			name string
			opt  Options
		}{
			{"224x224", Options{Size: Size{H: 224, W: 224}, Norm: ImageNet}},
			{"256tokens", Options{Tokens: 256, Patch: 16, Norm: ImageNet}},
		} {
			b.Run(fmt.Sprintf("%dx%d/%s", w, h, o.name), func(b *testing.B) {
				for b.Loop() {
					if _, err := Prepare(m, o.opt); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
