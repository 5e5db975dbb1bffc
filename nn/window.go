package nn

import (
	"fmt"

	"github.com/anyres/anyres/posenc"
)

// Windows is a token grid cut into non-overlapping windows after padding
// it at the bottom and right to whole windows: timm's window_partition of
// SAM and ViTDet (F.pad with zeros, no mask, so padding rows take part in
// every softmax of their window) and window_unpartition (the padding
// cropped off). Windows are numbered row-major over the padded grid, and
// a window's rows row-major within it.
type Windows struct {
	Grid   posenc.Grid // the tokens
	Size   posenc.Grid // one window
	NY, NX int         // windows down and across
}

// NewWindows cuts g into size windows.
func NewWindows(g, size posenc.Grid) (Windows, error) {
	if err := g.Validate(); err != nil {
		return Windows{}, err
	}
	if size.H <= 0 || size.W <= 0 {
		return Windows{}, fmt.Errorf("%w: window %s", ErrConfig, size)
	}
	return Windows{Grid: g, Size: size, NY: (g.H + size.H - 1) / size.H, NX: (g.W + size.W - 1) / size.W}, nil
}

// Count is the number of windows.
func (w Windows) Count() int { return w.NY * w.NX }

// Source is the token (row-major in the grid) at row t of window wi, or -1
// for a padding row.
func (w Windows) Source(wi, t int) int {
	y := (wi/w.NX)*w.Size.H + t/w.Size.W
	x := (wi%w.NX)*w.Size.W + t%w.Size.W
	if y >= w.Grid.H || x >= w.Grid.W {
		return -1
	}
	return y*w.Grid.W + x
}

// Gather copies window wi's rows of cols values from the token matrix src
// (row stride lds) to dst (Size.N() rows, stride ldd); padding rows get
// pad (cols values: what the padded zeros become after the layers run
// since the padding, e.g. a Linear's bias), or zeros when pad is nil.
func (w Windows) Gather(dst []float32, ldd int, src []float32, lds, cols, wi int, pad []float32) {
	for t := 0; t < w.Size.N(); t++ {
		row := dst[t*ldd : t*ldd+cols]
		switch s := w.Source(wi, t); {
		case s >= 0:
			copy(row, src[s*lds:s*lds+cols])
		case pad != nil:
			copy(row, pad[:cols])
		default:
			clear(row)
		}
	}
}

// Scatter copies the rows of window wi that lie on the grid from src
// (Size.N() rows, stride lds) back to the token matrix dst (stride ldd):
// the padding is cropped.
func (w Windows) Scatter(dst []float32, ldd int, src []float32, lds, cols, wi int) {
	for t := 0; t < w.Size.N(); t++ {
		if s := w.Source(wi, t); s >= 0 {
			copy(dst[s*ldd:s*ldd+cols], src[t*lds:t*lds+cols])
		}
	}
}
