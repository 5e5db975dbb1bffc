package nn

import (
	"fmt"

	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/posenc"
)

// Image is one image in CHW (planar) layout, already normalised the way the
// model was trained: Pix[c*H*W + y*W + x]. A PyTorch NCHW tensor with N = 1
// has exactly this layout. It is imageprep's type: imageprep.Prepare makes
// one from a photo.
type Image = imageprep.Image

// EdgePolicy says what happens to the pixels past the last whole patch when
// H or W is not a multiple of the patch size.
type EdgePolicy int

const (
	// EdgeDefault is the family's own rule (for a timm ViT: EdgePad when
	// the config sets dynamic_img_pad, else EdgeCrop).
	EdgeDefault EdgePolicy = iota
	// EdgePad zero-pads the image at the right and bottom to whole patches
	// (timm's dynamic_img_pad): grid ⌈H/p⌉×⌈W/p⌉.
	EdgePad
	// EdgeCrop drops the right and bottom remainder, as a stride-p
	// convolution does: grid ⌊H/p⌋×⌊W/p⌋.
	EdgeCrop
	// EdgeResize resizes the image (bilinear, antialiased when shrinking)
	// to the nearest whole number of patches on each side.
	EdgeResize
)

func (e EdgePolicy) String() string {
	switch e {
	case EdgeDefault:
		return "default"
	case EdgePad:
		return "pad"
	case EdgeCrop:
		return "crop"
	case EdgeResize:
		return "resize"
	}
	return fmt.Sprintf("EdgePolicy(%d)", int(e))
}

// MaxSide bounds image sides, so that C·H·W cannot overflow an int.
const MaxSide = 1 << 15

// GridFor returns the patch grid an H×W image gives under the edge policy.
func GridFor(h, w int, p [2]int, e EdgePolicy) posenc.Grid {
	switch e {
	case EdgePad:
		return posenc.Grid{H: (h + p[0] - 1) / p[0], W: (w + p[1] - 1) / p[1]}
	case EdgeResize:
		return posenc.Grid{H: max(1, (2*h+p[0])/(2*p[0])), W: max(1, (2*w+p[1])/(2*p[1]))}
	}
	return posenc.Grid{H: h / p[0], W: w / p[1]}
}

// CheckImage validates an image against a channel count and a patch size.
func CheckImage(img Image, channels int, patch [2]int) error {
	if img.C != channels {
		return fmt.Errorf("%w: %d channels, model wants %d", ErrImage, img.C, channels)
	}
	if img.H <= 0 || img.W <= 0 || img.H > MaxSide || img.W > MaxSide {
		return fmt.Errorf("%w: size %d×%d outside 1..%d", ErrImage, img.H, img.W, MaxSide)
	}
	if img.H < patch[0] || img.W < patch[1] {
		return fmt.Errorf("%w: %d×%d is smaller than one %d×%d patch", ErrImage, img.H, img.W, patch[0], patch[1])
	}
	if want := int64(img.C) * int64(img.H) * int64(img.W); int64(len(img.Pix)) != want {
		return fmt.Errorf("%w: %d×%d×%d needs %d values, has %d", ErrImage, img.C, img.H, img.W, want, len(img.Pix))
	}
	return nil
}

// Im2Col writes patches [lo, hi) of the grid, one per row, as a stride-p
// convolution sees them: column c·ph·pw + ky·pw + kx, zeros past the image.
func Im2Col(dst []float32, img Image, g posenc.Grid, p [2]int, lo, hi int) {
	ph, pw := p[0], p[1]
	k := img.C * ph * pw
	for i := lo; i < hi; i++ {
		row := dst[(i-lo)*k : (i-lo+1)*k]
		y0, x0 := (i/g.W)*ph, (i%g.W)*pw
		nx := min(pw, img.W-x0) // pixels of this patch row inside the image
		for c := 0; c < img.C; c++ {
			plane := img.Pix[c*img.H*img.W:]
			for ky := 0; ky < ph; ky++ {
				out := row[(c*ph+ky)*pw : (c*ph+ky+1)*pw]
				y := y0 + ky
				if y >= img.H || nx <= 0 {
					clear(out)
					continue
				}
				copy(out, plane[y*img.W+x0:y*img.W+x0+nx])
				clear(out[nx:])
			}
		}
	}
}
