// Package imageprep turns a photo into the float32 tensor a Vision
// Transformer takes: decode (PNG or JPEG, standard library), choose the input
// size, resize with antialiasing, and normalise each channel by a mean and
// standard deviation.
//
// The three ways to choose the size are the three ways to run a ViT at any
// resolution:
//
//   - native: keep the image's own size; the model's edge policy (pad, crop
//     or resize to a whole number of patches) deals with the remainder;
//   - a target size H×W, as timm's fixed-size evaluation does;
//   - a token budget: the largest size with the image's aspect ratio whose
//     patch grid has at most N tokens (the NaViT / FlexiViT way of spending
//     a fixed compute budget on any shape).
//
// A typical call:
//
//	img, err := imageprep.Load("photo.jpg")
//	x, err := imageprep.Prepare(img, imageprep.Options{Tokens: 256, Patch: 16, Norm: imageprep.ImageNet})
//	// x.Data holds 3×x.H×x.W values, channel-major (CHW), ready for the model:
//	err = model.Forward(vit.Image{C: x.C, H: x.H, W: x.W, Pix: x.Data}, &out)
//
// Resizing uses the Catmull-Rom cubic (Keys a = -0.5) of golang.org/x/image/draw,
// which widens its support when shrinking, like PIL's bicubic resize that timm's
// preprocessing uses (computed here on planes of the image's 16-bit colours,
// to x/image/draw's pixels bit for bit, ~3× faster on a photo). Alpha is dropped before resizing, as PIL's convert("RGB") does;
// a JPEG's EXIF orientation is ignored, as PIL and timm ignore it.
//
// Memory is bounded by Limits (DefaultLimits unless a call says otherwise):
// the file's size, every image's pixel count and side, and the resizer's
// temporary are checked before they are allocated. With the defaults one
// image costs at most about 1.6 GiB (a 64-megapixel photo decoded, its
// 16-bit copy where one is made, the resized copy and the float32 tensor)
// plus 1 GiB of resizer temporary; a board with little memory should
// lower them.
package imageprep

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/jpeg" // register the decoders Decode accepts
	_ "image/png"
	"io"
)

// Image is one image as float32 values in CHW (planar, channel-major)
// layout: C planes of H rows of W values, Pix[c*H*W + y*W + x], PyTorch's
// NCHW with N = 1. Prepare makes one normalised the way a model was
// trained, and it is what a model's Forward takes (anyres.Image and
// nn.Image are this type).
type Image struct {
	C, H, W int
	Pix     []float32
}

// At returns the value of channel c at row y, column x.
func (t Image) At(c, y, x int) float32 { return t.Pix[(c*t.H+y)*t.W+x] }

// Load reads and decodes a PNG or JPEG file within DefaultLimits.
func Load(path string) (image.Image, error) { return DefaultLimits.Load(path) }

// Decode reads a PNG or JPEG image within DefaultLimits.
func Decode(r io.Reader) (image.Image, error) { return DefaultLimits.Decode(r) }

// Decode reads a PNG or JPEG image. It checks the dimensions in the header
// against l before decoding pixels, and refuses empty images.
func (l Limits) Decode(r io.Reader) (image.Image, error) {
	l = l.orDefault()
	data, err := io.ReadAll(io.LimitReader(r, l.FileBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > l.FileBytes {
		return nil, fmt.Errorf("image file is larger than %d bytes (Limits.FileBytes)", l.FileBytes)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		if errors.Is(err, image.ErrFormat) {
			return nil, errors.New("not a PNG or JPEG image")
		}
		return nil, fmt.Errorf("malformed image: %w", err)
	}
	if err := l.checkImage(format+" image", cfg.Height, cfg.Width); err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("malformed %s image: %w", format, err)
	}
	return img, nil
}

// Opaque returns img as an opaque 16-bit RGB image whose bounds start at
// (0, 0), dropping any alpha channel the way PIL's convert("RGB") does
// (colours kept, transparency forgotten). It allocates 8 bytes a pixel of
// img without asking: check img's size against Limits first (Resize,
// ToImage and Prepare do).
func Opaque(img image.Image) *image.RGBA64 {
	b := img.Bounds()
	dst := image.NewRGBA64(image.Rect(0, 0, b.Dx(), b.Dy()))
	if o, ok := img.(interface{ Opaque() bool }); ok && o.Opaque() {
		draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src) // fast paths for JPEG's YCbCr and the common types
		return dst
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			dst.SetRGBA64(x-b.Min.X, y-b.Min.Y, straight(img.At(x, y)))
		}
	}
	return dst
}

// straight returns c's colour without premultiplication, fully opaque.
// Colours stored unpremultiplied (PNG's NRGBA, NRGBA64 and palette entries)
// keep their values even where alpha is zero.
func straight(c color.Color) color.RGBA64 {
	switch c := c.(type) {
	case color.NRGBA:
		return color.RGBA64{R: uint16(c.R) * 0x101, G: uint16(c.G) * 0x101, B: uint16(c.B) * 0x101, A: 0xffff}
	case color.NRGBA64:
		return color.RGBA64{R: c.R, G: c.G, B: c.B, A: 0xffff}
	}
	n := color.NRGBA64Model.Convert(c).(color.NRGBA64)
	return color.RGBA64{R: n.R, G: n.G, B: n.B, A: 0xffff}
}

// Resize returns img scaled to h rows by w columns with the Catmull-Rom
// cubic, antialiased when shrinking, within DefaultLimits. Alpha is dropped
// first (see Opaque).
func Resize(img image.Image, h, w int) (*image.RGBA64, error) {
	return DefaultLimits.Resize(img, h, w)
}

// Resize is the package's Resize within l: the source, the target and the
// resizer's temporary are checked before anything is allocated.
func (l Limits) Resize(img image.Image, h, w int) (*image.RGBA64, error) {
	return l.ResizeFilter(img, h, w, Bicubic)
}

// ToImage converts img to a 3×H×W Image of (v - mean[c]) / std[c], where v
// is the pixel value scaled to [0, 1]. Alpha is dropped (see Opaque);
// grayscale images give three equal channels.
// The image must be within DefaultLimits.
func ToImage(img image.Image, n Norm) (Image, error) {
	return toImage(img, n, DefaultLimits.orDefault())
}

func toImage(img image.Image, n Norm, l Limits) (Image, error) {
	if err := n.Validate(); err != nil {
		return Image{}, err
	}
	b := img.Bounds()
	if err := l.checkImage("image", b.Dy(), b.Dx()); err != nil {
		return Image{}, err
	}
	src, ok := img.(*image.RGBA64)
	if !ok || src.Bounds().Min != (image.Point{}) || !src.Opaque() {
		src = Opaque(img)
	}
	h, w := src.Bounds().Dy(), src.Bounds().Dx()
	t := Image{C: 3, H: h, W: w, Pix: make([]float32, 3*h*w)}
	plane := h * w
	for y := range h {
		row := src.Pix[y*src.Stride:]
		for x := range w {
			p := row[8*x:]
			i := y*w + x
			for c := range 3 {
				v := float32(uint16(p[2*c])<<8|uint16(p[2*c+1])) / 65535 // = v8/255 exactly for 8-bit sources
				t.Pix[c*plane+i] = (v - n.Mean[c]) / n.Std[c]
			}
		}
	}
	return t, nil
}
