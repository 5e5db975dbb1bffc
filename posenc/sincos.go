package posenc

import (
	"fmt"
	"math"

	"github.com/anyres/anyres/kernels"
)

// SinCosOptions are the settings of timm's build_sincos2d_pos_embed; the
// zero value is timm's default.
type SinCosOptions struct {
	// Temperature is the base of the frequency bands; 0 means 10000.
	Temperature float64
	// ReverseCoord stacks the grid as W, H instead of H, W (timm's
	// reverse_coord). timm then also flattens the table W-major; on a square
	// grid that changes nothing, on others the rows come out in column-major
	// order. Both are kept, to add exactly what a timm model adds.
	ReverseCoord bool
	// Interleave orders each row sin, cos, sin, cos (one pair per
	// coordinate) instead of sin, sin, cos, cos.
	Interleave bool
}

func (o SinCosOptions) temperature() (float64, error) {
	t := o.Temperature
	if t == 0 {
		t = 10000
	}
	if !(t > 0) || math.IsInf(t, 0) {
		return 0, fmt.Errorf("posenc: sin-cos temperature %g must be positive and finite", o.Temperature)
	}
	return t, nil
}

// SinCos2DTable returns timm's build_sincos2d_pos_embed(g, dim): g.N() rows
// of dim values, the fixed MAE-style encoding of each grid position. dim
// must be a multiple of 4 (a quarter each for sin y, sin x, cos y, cos x).
func SinCos2DTable(g Grid, dim int, o SinCosOptions) ([]float32, error) {
	if err := checkGrid(g); err != nil {
		return nil, err
	}
	if dim <= 0 || dim%4 != 0 {
		return nil, fmt.Errorf("posenc: sin-cos dim %d must be a positive multiple of 4", dim)
	}
	if err := checkTableSize("sin-cos table", g.N(), dim); err != nil {
		return nil, err
	}
	temp, err := o.temperature()
	if err != nil {
		return nil, err
	}
	bands := freqBands(dim/4, temp)
	outer, inner := g.H, g.W
	if o.ReverseCoord {
		outer, inner = g.W, g.H
	}
	pd := len(bands)
	out := make([]float32, g.N()*dim)
	for a := 0; a < outer; a++ {
		for b := 0; b < inner; b++ {
			row := out[(a*inner+b)*dim : (a*inner+b+1)*dim]
			for ci, coord := range [2]float32{float32(a), float32(b)} {
				for k, f := range bands {
					arg := float64(float32(coord * f)) // PyTorch rounds the product to float32
					s, c := float32(math.Sin(arg)), float32(math.Cos(arg))
					if o.Interleave { // [sin c0, cos c0, sin c1, cos c1]
						row[(2*ci)*pd+k] = s
						row[(2*ci+1)*pd+k] = c
					} else { // [sin c0, sin c1, cos c0, cos c1]
						row[ci*pd+k] = s
						row[(2+ci)*pd+k] = c
					}
				}
			}
		}
	}
	return out, nil
}

// freqBands is timm's freq_bands(n, temperature, step=1) in float32:
// 1/temperature^(k/n) for k < n.
func freqBands(n int, temperature float64) []float32 {
	bands := make([]float32, n)
	for k := range bands {
		e := float32(k) / float32(n)
		bands[k] = 1 / float32(math.Pow(float64(float32(temperature)), float64(e)))
	}
	return bands
}

// SinCos is the fixed 2-D sin-cos encoding as an Encoder: it adds
// SinCos2DTable(g, dim) to the patch rows and leaves prefix rows alone
// (timm's ViT with pos_embed='sincos'-style models add no position to the
// class token). Tables are cached per grid.
type SinCos struct {
	Options SinCosOptions
	cache   perGridCache[sincosKey, []float32]
}

type sincosKey struct {
	g   Grid
	dim int
}

// AddTo adds the sin-cos table of grid g to the patch rows of x.
func (s *SinCos) AddTo(x []float32, prefix int, g Grid, dim int) error {
	if err := checkTokens(x, prefix, g, dim); err != nil {
		return err
	}
	table, err := s.cache.get(sincosKey{g, dim}, func() ([]float32, error) { return SinCos2DTable(g, dim, s.Options) })
	if err != nil {
		return err
	}
	patches := x[prefix*dim:]
	kernels.Add(patches, patches, table)
	return nil
}
