package imageprep

import (
	"fmt"
	"image"
	"math"

	xdraw "golang.org/x/image/draw"
)

// Filter is the resampling filter of a resize. Every filter widens its
// support by the scale factor when shrinking, as PIL's resize does.
type Filter int

const (
	Bicubic  Filter = iota // Catmull-Rom cubic (Keys a = −0.5), PIL's BICUBIC; the default
	Bilinear               // triangle filter, PIL's BILINEAR
	Nearest                // nearest neighbour, PIL's NEAREST
	Lanczos                // Lanczos-3, PIL's LANCZOS
)

var filterNames = [...]string{Bicubic: "bicubic", Bilinear: "bilinear", Nearest: "nearest", Lanczos: "lanczos"}

func (f Filter) String() string {
	if f >= 0 && int(f) < len(filterNames) {
		return filterNames[f]
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

// PILFilter maps PIL's resample codes (what an image processor's
// `resample` holds) to a Filter: 0 NEAREST, 1 LANCZOS, 2 BILINEAR,
// 3 BICUBIC. BOX (4) and HAMMING (5) are refused.
func PILFilter(code int) (Filter, error) {
	switch code {
	case 0:
		return Nearest, nil
	case 1:
		return Lanczos, nil
	case 2:
		return Bilinear, nil
	case 3:
		return Bicubic, nil
	}
	return 0, fmt.Errorf("imageprep: PIL resample %d: want 0 (nearest), 1 (lanczos), 2 (bilinear) or 3 (bicubic)", code)
}

// lanczos3 is the Lanczos kernel with three lobes.
var lanczos3 = &xdraw.Kernel{Support: 3, At: func(t float64) float64 {
	if t == 0 {
		return 1
	}
	if t < 0 {
		t = -t
	}
	if t >= 3 {
		return 0
	}
	pt := math.Pi * t
	return 3 * math.Sin(pt) * math.Sin(pt/3) / (pt * pt)
}}

// scaler is the x/image/draw scaler of f.
func (f Filter) scaler() (xdraw.Scaler, error) {
	switch f {
	case Bicubic:
		return xdraw.CatmullRom, nil
	case Bilinear:
		return xdraw.BiLinear, nil
	case Nearest:
		return xdraw.NearestNeighbor, nil
	case Lanczos:
		return lanczos3, nil
	}
	return nil, fmt.Errorf("imageprep: unknown filter %v", f)
}

// ResizeFilter is Limits.Resize with another filter than the Catmull-Rom
// cubic.
func (l Limits) ResizeFilter(img image.Image, h, w int, f Filter) (*image.RGBA64, error) {
	s, err := f.scaler()
	if err != nil {
		return nil, err
	}
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("imageprep: resize to %d×%d: sizes must be positive", h, w)
	}
	b := img.Bounds()
	if err := l.orDefault().checkResize(b.Dy(), b.Dx(), h, w); err != nil {
		return nil, err
	}
	if b.Dx() == w && b.Dy() == h {
		return Opaque(img), nil
	}
	if k, ok := s.(*xdraw.Kernel); ok {
		return resample(img, h, w, k), nil
	}
	src := Opaque(img)
	dst := image.NewRGBA64(image.Rect(0, 0, w, h))
	s.Scale(dst, dst.Bounds(), src, src.Bounds(), xdraw.Src, nil)
	return dst, nil
}
