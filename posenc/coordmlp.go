package posenc

import (
	"fmt"
	"math"

	"github.com/anyres/anyres/kernels"
)

// CoordLayer is one linear layer of a CoordMLP in PyTorch's nn.Linear
// layout: Weight is Out×In, Bias Out values (nil for none).
type CoordLayer struct {
	Weight  []float32
	Bias    []float32
	In, Out int
}

// CoordMLP is a continuous absolute encoding: a small MLP of each patch's
// normalised centre (x, y) ∈ [0,1]² — optionally with Fourier features
// sin/cos(2π·f·x), sin/cos(2π·f·y) — whose output is added to the patch
// tokens. Like an implicit neural representation, it has a value at every
// point of the image, so any grid gets a table that agrees with every other
// grid wherever their patch centres coincide. Weights come from the user;
// ReLU (or GELU) sits between layers, none after the last. Tables are
// cached per grid; prefix rows are left alone.
type CoordMLP struct {
	layers []CoordLayer
	freqs  []float32
	gelu   bool
	cache  perGridCache[Grid, []float32]
}

// NewCoordMLP checks the layers: the first takes CoordFeatureDim(len(freqs))
// inputs, each next one the previous one's outputs. freqs are the Fourier
// frequencies (cycles across the image; nil for plain (x, y)). gelu picks
// erf GELU instead of ReLU between layers.
func NewCoordMLP(layers []CoordLayer, freqs []float32, gelu bool) (*CoordMLP, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("posenc: coordinate MLP has no layers")
	}
	if len(freqs) > 1<<12 {
		return nil, fmt.Errorf("posenc: coordinate MLP: %d Fourier frequencies, at most 4096", len(freqs))
	}
	in := CoordFeatureDim(len(freqs))
	for i, l := range layers {
		if l.In != in || l.Out <= 0 || l.Out > maxWidth {
			return nil, fmt.Errorf("posenc: coordinate MLP layer %d is %d→%d, want %d inputs and positive outputs", i, l.In, l.Out, in)
		}
		if int64(len(l.Weight)) != int64(l.In)*int64(l.Out) || (l.Bias != nil && len(l.Bias) != l.Out) {
			return nil, fmt.Errorf("posenc: coordinate MLP layer %d has %d weights and %d biases, want %d×%d and %d",
				i, len(l.Weight), len(l.Bias), l.Out, l.In, l.Out)
		}
		in = l.Out
	}
	for _, f := range freqs {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return nil, fmt.Errorf("posenc: coordinate MLP frequency %g must be finite", f)
		}
	}
	return &CoordMLP{layers: layers, freqs: freqs, gelu: gelu}, nil
}

// Dim is the width of the table: the last layer's outputs.
func (m *CoordMLP) Dim() int { return m.layers[len(m.layers)-1].Out }

// CoordFeatureDim is the MLP input width for nfreq Fourier frequencies:
// (x, y) and a sin and cos per frequency per coordinate.
func CoordFeatureDim(nfreq int) int { return 2 + 4*nfreq }

// CoordFeatures returns the MLP inputs of grid g, g.N() rows (row-major):
// x = (col + ½)/W, y = (row + ½)/H, then for each frequency f
// sin(2πfx), cos(2πfx), sin(2πfy), cos(2πfy). Centres are exact rationals
// rounded once, so equal positions in different grids give equal rows.
func CoordFeatures(g Grid, freqs []float32) ([]float32, error) {
	if err := checkGrid(g); err != nil {
		return nil, err
	}
	d := CoordFeatureDim(len(freqs))
	if err := checkTableSize("coordinate features", g.N(), d); err != nil {
		return nil, err
	}
	out := make([]float32, 0, g.N()*d)
	for r := 0; r < g.H; r++ {
		y := float64(2*r+1) / float64(2*g.H)
		for c := 0; c < g.W; c++ {
			x := float64(2*c+1) / float64(2*g.W)
			out = append(out, float32(x), float32(y))
			for _, f := range freqs {
				ax, ay := 2*math.Pi*float64(f)*x, 2*math.Pi*float64(f)*y
				out = append(out, float32(math.Sin(ax)), float32(math.Cos(ax)), float32(math.Sin(ay)), float32(math.Cos(ay)))
			}
		}
	}
	return out, nil
}

// Table returns the encoding of grid g: g.N() rows × Dim().
func (m *CoordMLP) Table(g Grid) ([]float32, error) {
	return m.cache.get(g, func() ([]float32, error) {
		x, err := CoordFeatures(g, m.freqs)
		if err != nil {
			return nil, err
		}
		rows := g.N()
		for i, l := range m.layers {
			if err := checkTableSize("coordinate MLP activations", rows, l.Out); err != nil {
				return nil, err
			}
			y := make([]float32, rows*l.Out)
			kernels.Sgemm(1, false, true, rows, l.Out, l.In, 1, x, l.In, l.Weight, l.In, 0, y, l.Out)
			last := i == len(m.layers)-1
			for r := 0; r < rows; r++ {
				row := y[r*l.Out : (r+1)*l.Out]
				if l.Bias != nil {
					kernels.Add(row, row, l.Bias)
				}
				switch {
				case last:
				case m.gelu:
					kernels.GELU(row, row)
				default:
					for j, v := range row {
						row[j] = max(v, 0)
					}
				}
			}
			x = y
		}
		return x, nil
	})
}

// AddTo adds the table of grid g to the patch rows of x.
func (m *CoordMLP) AddTo(x []float32, prefix int, g Grid, dim int) error {
	if err := checkTokens(x, prefix, g, dim); err != nil {
		return err
	}
	if dim != m.Dim() {
		return fmt.Errorf("posenc: coordinate MLP makes %d-wide rows, tokens are %d wide", m.Dim(), dim)
	}
	table, err := m.Table(g)
	if err != nil {
		return err
	}
	patches := x[prefix*dim:]
	kernels.Add(patches, patches, table)
	return nil
}
