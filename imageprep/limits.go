package imageprep

import (
	"fmt"
	"image"
	"os"
)

// Limits bound what decoding and resizing may allocate, so that no file and
// no requested size can exhaust memory. Every size is checked before the
// allocation it governs: the header's dimensions before the pixels are
// decoded, the source and target sizes and the resizer's temporary before
// resizing starts.
//
// A zero field means the value in DefaultLimits.
type Limits struct {
	// FileBytes bounds the encoded file Decode reads.
	FileBytes int64
	// Pixels bounds every image held: the decoded source, its 16-bit RGB
	// copy (8 bytes a pixel; none where a kernel resize reads a JPEG,
	// gray or NRGBA image a row at a time), the resized image (8 bytes a
	// pixel) and the tensor (12 bytes a pixel).
	Pixels int64
	// Side bounds the width and the height of every image, so that long
	// thin images (16×200000), whose pixel count is small, cannot make the
	// resizer's temporaries large.
	Side int
	// ScratchBytes bounds the resizer's temporary: the kernel resize
	// holds the image resized along one axis, 24 bytes × target width ×
	// source height, whatever the target's own size (shrinking 16 rows
	// from a 4000-row photo to 200000 columns would need 19 GB).
	ScratchBytes int64
}

// The default limits. MaxFileBytes and MaxPixels are also the limits of
// ParseSize and BudgetSize.
const (
	MaxFileBytes    = 256 << 20 // a 256 MiB file
	MaxPixels       = 64 << 20  // 64 megapixels: more than any camera's photo
	MaxSide         = 1 << 16   // 65536 pixels a side, JPEG's own limit
	MaxScratchBytes = 1 << 30   // 1 GiB of resizer temporary
)

// DefaultLimits are the limits of Decode, Load, Resize, ToImage and of
// Prepare where its Options leave Limits zero. A program that needs other
// bounds (larger for scans, smaller for a board with little memory) may set
// it before it starts decoding, or pass Limits per call.
var DefaultLimits = Limits{
	FileBytes:    MaxFileBytes,
	Pixels:       MaxPixels,
	Side:         MaxSide,
	ScratchBytes: MaxScratchBytes,
}

// orDefault fills l's zero fields from DefaultLimits.
func (l Limits) orDefault() Limits {
	d := DefaultLimits
	if l.FileBytes > 0 {
		d.FileBytes = l.FileBytes
	}
	if l.Pixels > 0 {
		d.Pixels = l.Pixels
	}
	if l.Side > 0 {
		d.Side = l.Side
	}
	if l.ScratchBytes > 0 {
		d.ScratchBytes = l.ScratchBytes
	}
	return d
}

// checkImage returns an error unless an h×w image (what it is: "source",
// "target size", a format's name) is within the limits.
func (l Limits) checkImage(what string, h, w int) error {
	if h <= 0 || w <= 0 {
		return fmt.Errorf("imageprep: %s is empty (%d×%d)", what, h, w)
	}
	if h > l.Side || w > l.Side {
		return fmt.Errorf("imageprep: %s %d×%d has a side over the %d-pixel limit (Limits.Side)", what, h, w, l.Side)
	}
	// Both sides are at most Side (≤ an int), so the product fits in 64
	// bits whenever Side ≤ 2^31; clamp larger Sides through the division.
	if int64(h) > l.Pixels/int64(w) {
		return fmt.Errorf("imageprep: %s %d×%d is over the %d-pixel limit (Limits.Pixels)", what, h, w, l.Pixels)
	}
	return nil
}

// resizeScratch is the temporary the kernel resize (resample) allocates
// for a resize from sh source rows to dw target columns: dw·sh values of
// three float64.
func resizeScratch(sh, dw int) (bytes int64, ok bool) {
	const per = 24
	if int64(dw) > (1<<62)/per/int64(sh) {
		return 0, false
	}
	return int64(dw) * int64(sh) * per, true
}

// checkResize checks an sh×sw → h×w resize: both images, and the
// scaler's temporary.
func (l Limits) checkResize(sh, sw, h, w int) error {
	if err := l.checkImage("source image", sh, sw); err != nil {
		return err
	}
	if err := l.checkImage("target size", h, w); err != nil {
		return err
	}
	if sh == h && sw == w {
		return nil
	}
	// The scaler's indices are int32: dw·sh past 2^31 would wrap inside it.
	if b, ok := resizeScratch(sh, w); !ok || b > l.ScratchBytes || int64(w)*int64(sh) >= 1<<31 {
		return fmt.Errorf("imageprep: resizing %d×%d to %d×%d needs a %d-column × %d-row temporary (24 bytes each), over the %d-byte limit (Limits.ScratchBytes)",
			sh, sw, h, w, w, sh, l.ScratchBytes)
	}
	return nil
}

// Load reads and decodes a PNG or JPEG file within l.
func (l Limits) Load(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, err := l.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}
