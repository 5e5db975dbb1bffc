package posenc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels/kerneltest"
)

func testCoordMLP(t *testing.T, freqs []float32, gelu bool) *CoordMLP {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 8))
	in := CoordFeatureDim(len(freqs))
	l1 := CoordLayer{Weight: kerneltest.Rand(rng, 32*in, -2, 2), Bias: kerneltest.Rand(rng, 32, -2, 2), In: in, Out: 32}
	l2 := CoordLayer{Weight: kerneltest.Rand(rng, 12*32, -2, 2), Bias: kerneltest.Rand(rng, 12, -2, 2), In: 32, Out: 12}
	m, err := NewCoordMLP([]CoordLayer{l1, l2}, freqs, gelu)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// coordMLPReference evaluates the MLP at one point in float64.
func coordMLPReference(m *CoordMLP, x, y float64) []float64 {
	in := []float64{x, y}
	for _, f := range m.freqs {
		ax, ay := 2*math.Pi*float64(f)*x, 2*math.Pi*float64(f)*y
		in = append(in, math.Sin(ax), math.Cos(ax), math.Sin(ay), math.Cos(ay))
	}
	for i, l := range m.layers {
		out := make([]float64, l.Out)
		for o := range out {
			s := 0.0
			if l.Bias != nil {
				s = float64(l.Bias[o])
			}
			for k, v := range in {
				s += float64(l.Weight[o*l.In+k]) * v
			}
			if i < len(m.layers)-1 {
				if m.gelu {
					s = 0.5 * s * (1 + math.Erf(s/math.Sqrt2))
				} else {
					s = max(s, 0)
				}
			}
			out[o] = s
		}
		in = out
	}
	return in
}

// TestCoordMLPAnyGrid: every grid from 1×1 to 128×128, square or not, gets
// a table equal to the MLP evaluated at its patch centres (float64
// reference), on every kernel level.
func TestCoordMLPAnyGrid(t *testing.T) {
	grids := []Grid{{1, 1}, {1, 7}, {7, 1}, {2, 3}, {14, 14}, {9, 23}, {37, 5}, {128, 128}, {1, 128}, {128, 3}}
	kerneltest.Run(t, func(t *testing.T) {
		for _, freqs := range [][]float32{nil, {1, 2, 4.5}} {
			for _, gelu := range []bool{false, true} {
				m := testCoordMLP(t, freqs, gelu)
				for _, g := range grids {
					tab, err := m.Table(g)
					if err != nil {
						t.Fatal(err)
					}
					if len(tab) != g.N()*12 {
						t.Fatalf("%v: %d values", g, len(tab))
					}
					for _, p := range []int{0, g.N() / 2, g.N() - 1} {
						r, c := p/g.W, p%g.W
						ref := coordMLPReference(m, (float64(c)+0.5)/float64(g.W), (float64(r)+0.5)/float64(g.H))
						want := make([]float32, len(ref))
						for i, v := range ref {
							want[i] = float32(v)
						}
						golden.Close(t, fmt.Sprintf("%v freqs %v gelu %v row %d", g, freqs, gelu, p), tab[p*12:(p+1)*12], want, 1e-5, 1e-5)
					}
				}
			}
		}
	})
}

// TestCoordMLPSamePointsSameRows: grids whose patch centres coincide (3×5
// inside 9×15) give identical rows there, and prefix rows stay untouched.
func TestCoordMLPSamePointsSameRows(t *testing.T) {
	m := testCoordMLP(t, []float32{1, 3}, false)
	coarse, _ := m.Table(Grid{3, 5})
	fine, _ := m.Table(Grid{9, 15})
	for r := 0; r < 3; r++ {
		for c := 0; c < 5; c++ {
			a := coarse[(r*5+c)*12 : (r*5+c+1)*12]
			fr, fc := 3*r+1, 3*c+1
			b := fine[(fr*15+fc)*12 : (fr*15+fc+1)*12]
			golden.Close(t, fmt.Sprintf("centre (%d,%d)", r, c), a, b, 0, 0)
		}
	}
	x := make([]float32, (2+15)*12)
	if err := m.AddTo(x, 2, Grid{3, 5}, 12); err != nil {
		t.Fatal(err)
	}
	golden.Close(t, "prefix", x[:24], make([]float32, 24), 0, 0)
	golden.Close(t, "patches", x[24:], coarse, 0, 0)
}

// TestCoordMLPContinuous: neighbouring patches of a fine grid get nearby
// rows — the table is a sampled continuous function, with a Lipschitz bound
// from the weights.
func TestCoordMLPContinuous(t *testing.T) {
	m := testCoordMLP(t, []float32{1, 2}, false)
	// Moving along x by dx moves the features by at most
	// dx·sqrt(1 + Σ(2πf)²); each layer stretches by at most its Frobenius
	// norm; ReLU does not stretch.
	slope := 1.0
	for _, f := range m.freqs {
		slope += (2 * math.Pi * float64(f)) * (2 * math.Pi * float64(f))
	}
	lip := math.Sqrt(slope)
	for _, l := range m.layers {
		s := 0.0
		for _, w := range l.Weight {
			s += float64(w) * float64(w)
		}
		lip *= math.Sqrt(s)
	}
	g := Grid{128, 128}
	tab, _ := m.Table(g)
	step := 1.0 / 128
	worst := 0.0
	for r := 0; r < g.H; r++ {
		for c := 0; c+1 < g.W; c++ {
			d := 0.0
			for k := 0; k < 12; k++ {
				v := float64(tab[(r*g.W+c+1)*12+k] - tab[(r*g.W+c)*12+k])
				d += v * v
			}
			worst = max(worst, math.Sqrt(d))
		}
	}
	if worst > lip*step*1.01+1e-5 {
		t.Errorf("neighbouring rows differ by %g, more than the Lipschitz bound %g", worst, lip*step)
	}
}

func TestCoordMLPErrors(t *testing.T) {
	if _, err := NewCoordMLP(nil, nil, false); err == nil {
		t.Error("no layers: no error")
	}
	if _, err := NewCoordMLP([]CoordLayer{{Weight: make([]float32, 6), In: 3, Out: 2}}, nil, false); err == nil {
		t.Error("first layer with 3 inputs for (x, y): no error")
	}
	if _, err := NewCoordMLP([]CoordLayer{{Weight: make([]float32, 5), In: 2, Out: 2}}, nil, false); err == nil {
		t.Error("short weights: no error")
	}
	if _, err := NewCoordMLP([]CoordLayer{{Weight: make([]float32, 12), In: 6, Out: 2}}, []float32{float32(math.NaN())}, false); err == nil {
		t.Error("NaN frequency: no error")
	}
	m, _ := NewCoordMLP([]CoordLayer{{Weight: make([]float32, 8), In: 2, Out: 4}}, nil, false)
	if err := m.AddTo(make([]float32, 8*3), 0, Grid{2, 4}, 3); err == nil {
		t.Error("token width 3 for a 4-wide MLP: no error")
	}
	if err := m.AddTo(make([]float32, 4), 0, Grid{0, 4}, 4); err == nil {
		t.Error("empty grid: no error")
	}
}
