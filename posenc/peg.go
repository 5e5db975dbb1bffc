package posenc

import (
	"fmt"
	"sync"

	"github.com/anyres/anyres/kernels"
)

// PEG is CPVT's positional encoding generator (timm twins.PosConv with
// stride 1): a depthwise 3×3 convolution over the H×W grid of patch tokens,
// zero-padded, plus its bias, added to the tokens themselves. Position comes
// from the zero padding at the borders and travels inward layer by layer,
// so it works at any grid size with no table to resample. Prefix tokens are
// left alone (CPVT keeps the class token aside).
type PEG struct {
	weight []float32 // 9×C, tap-major
	bias   []float32
	c      int
}

// NewPEG takes the convolution's weight in PyTorch's layout (C×1×3×3,
// proj.0.weight) and bias (C, proj.0.bias).
func NewPEG(weight, bias []float32, channels int) (*PEG, error) {
	if channels <= 0 || channels > maxWidth {
		return nil, fmt.Errorf("posenc: PEG: %d channels must be in 1..%d", channels, maxWidth)
	}
	if len(weight) != channels*9 || len(bias) != channels {
		return nil, fmt.Errorf("posenc: PEG weight has %d values and bias %d, want %d×1×3×3 and %d",
			len(weight), len(bias), channels, channels)
	}
	p := &PEG{weight: make([]float32, 9*channels), bias: append([]float32(nil), bias...), c: channels}
	for c := 0; c < channels; c++ {
		for t := 0; t < 9; t++ {
			p.weight[t*channels+c] = weight[c*9+t]
		}
	}
	return p, nil
}

// LoadPEG reads prefix+"proj.0.weight" and prefix+"proj.0.bias" (timm's
// PosConv names); get is, for example, a safetensors file's Float32 method.
func LoadPEG(get func(name string) ([]float32, []int, error), prefix string) (*PEG, error) {
	w, shape, err := get(prefix + "proj.0.weight")
	if err != nil {
		return nil, fmt.Errorf("posenc: PEG: %w", err)
	}
	b, _, err := get(prefix + "proj.0.bias")
	if err != nil {
		return nil, fmt.Errorf("posenc: PEG: %w", err)
	}
	if len(shape) != 4 || shape[1] != 1 || shape[2] != 3 || shape[3] != 3 {
		return nil, fmt.Errorf("posenc: PEG: weight shape %v, want [C 1 3 3] (a depthwise 3×3 convolution)", shape)
	}
	return NewPEG(w, b, shape[0])
}

// Channels is the token width the convolution was made for.
func (p *PEG) Channels() int { return p.c }

// AddTo replaces the patch rows of x by conv(x) + bias + x.
func (p *PEG) AddTo(x []float32, prefix int, g Grid, dim int) error {
	if err := checkTokens(x, prefix, g, dim); err != nil {
		return err
	}
	if dim != p.c {
		return fmt.Errorf("posenc: PEG has %d channels, tokens are %d wide", p.c, dim)
	}
	if err := checkTableSize("PEG padded grid", (g.H+2)*(g.W+2), dim); err != nil {
		return err
	}
	patches := x[prefix*dim:]
	size := (g.H + 2) * (g.W + 2) * dim
	buf, _ := pegScratch.Get().(*[]float32)
	if buf == nil || cap(*buf) < size {
		buf = new([]float32)
		*buf = make([]float32, size)
	}
	defer pegScratch.Put(buf)
	padded := (*buf)[:size]
	// The zero border (top and bottom rows, left and right columns), then
	// the tokens inside it.
	stride := (g.W + 2) * dim
	clear(padded[:stride])
	clear(padded[(g.H+1)*stride:])
	for y := 0; y < g.H; y++ {
		row := padded[(y+1)*stride : (y+2)*stride]
		clear(row[:dim])
		copy(row[dim:], patches[y*g.W*dim:(y+1)*g.W*dim])
		clear(row[(g.W+1)*dim:])
	}
	kernels.DWConv3x3(patches, padded, p.weight, p.bias, g.H, g.W, dim, true)
	return nil
}

// pegScratch holds padded copies of token grids between PEG calls.
var pegScratch sync.Pool
