package naflex

import (
	"testing"

	"github.com/anyres/anyres/posenc"
)

// TestSquarePos: the aspect-preserving table is the top-left corner of the
// table resampled to the grid's longer side, on both axes, for each grid;
// prefix rows get nothing; a square grid gets the plain resampled table.
func TestSquarePos(t *testing.T) {
	old, d := posenc.Grid{H: 6, W: 6}, 5
	table := make([]float32, old.N()*d)
	for i := range table {
		table[i] = float32(i%13) - 6
	}
	opt := posenc.ResampleOptions{Method: posenc.Bicubic, Antialias: true}
	l, err := posenc.NewLearned(table, 0, old, d, opt)
	if err != nil {
		t.Fatal(err)
	}
	p := &squarePos{table: l}
	for _, g := range []posenc.Grid{{H: 3, W: 9}, {H: 9, W: 3}, {H: 4, W: 4}, {H: 6, W: 2}, {H: 3, W: 9}} {
		n := max(g.H, g.W)
		sq, err := posenc.ResampleAbsPosEmbed(table, 0, old, posenc.Grid{H: n, W: n}, d, opt)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, (1+g.N())*d)
		if err := p.AddTo(x, 1, g, d); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < d; i++ {
			if x[i] != 0 {
				t.Fatalf("grid %v: the prefix row got a position", g)
			}
		}
		for y := 0; y < g.H; y++ {
			for xx := 0; xx < g.W; xx++ {
				for c := 0; c < d; c++ {
					if got, want := x[(1+y*g.W+xx)*d+c], sq[(y*n+xx)*d+c]; got != want {
						t.Fatalf("grid %v: (%d, %d, %d) = %g, want %g", g, y, xx, c, got, want)
					}
				}
			}
		}
	}
	// A cached grid's table is added without building or allocating.
	x, g := make([]float32, 27*d), posenc.Grid{H: 3, W: 9}
	if n := testing.AllocsPerRun(5, func() { p.AddTo(x, 0, g, d) }); n != 0 {
		t.Errorf("%v allocations per AddTo of a cached grid", n)
	}
	if err := p.AddTo(make([]float32, 3), 0, posenc.Grid{H: 2, W: 2}, d); err == nil {
		t.Error("tokens of the wrong length: no error")
	}
}
