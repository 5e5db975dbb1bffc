package posenc

import (
	"math/rand/v2"
	"testing"
)

// TestAbsWin: the table at a grid is the global table resampled there
// plus the window table repeated in every window; at the global table's
// own grid the resample is the identity (bicubic, antialias, scale 1), and
// grids that are not whole windows are refused.
func TestAbsWin(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	dim, old, unit := 3, Grid{H: 4, W: 4}, Grid{H: 2, W: 2}
	global, win := make([]float32, old.N()*dim), make([]float32, unit.N()*dim)
	for i := range global {
		global[i] = r.Float32()
	}
	for i := range win {
		win[i] = r.Float32()
	}
	a, err := NewAbsWin(global, old, win, unit, dim, DefaultResampleOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range []Grid{old, {H: 6, W: 8}} {
		got, err := a.Shared(g)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ResampleGrid(global, old, g, dim, DefaultResampleOptions())
		if err != nil {
			t.Fatal(err)
		}
		for y := 0; y < g.H; y++ {
			for x := 0; x < g.W; x++ {
				for c := 0; c < dim; c++ {
					i := (y*g.W+x)*dim + c
					w := want[i] + win[((y%2)*2+x%2)*dim+c]
					if g == old && want[i] != global[i] {
						t.Fatalf("resample at the table's own grid changed (%d,%d): %g → %g", y, x, global[i], want[i])
					}
					if got[i] != w {
						t.Fatalf("%v (%d,%d) channel %d: %g, want %g", g, y, x, c, got[i], w)
					}
				}
			}
		}
	}
	if _, err := a.Shared(Grid{H: 5, W: 4}); err == nil {
		t.Error("a grid that is not whole windows was accepted")
	}
	if _, err := NewAbsWin(global, old, win[:3], unit, dim, DefaultResampleOptions()); err == nil {
		t.Error("a window table of the wrong size was accepted")
	}
}
