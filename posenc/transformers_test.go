package posenc_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/posenc"
)

// keysTaps is F.interpolate's bicubic (Keys a = −0.75, indices clamped)
// along one axis whose source coordinate of output i is
// (i+0.5)·scale − 0.5, in float64: an independent statement of the rule.
func keysTaps(in, out int, scale float64) [][]float64 {
	const a = -0.75
	cubic := func(x float64) float64 {
		x = math.Abs(x)
		switch {
		case x <= 1:
			return ((a+2)*x-(a+3))*x*x + 1
		case x < 2:
			return ((a*x-5*a)*x+8*a)*x - 4*a
		}
		return 0
	}
	w := make([][]float64, out)
	for i := range w {
		w[i] = make([]float64, in)
		src := (float64(i)+0.5)*scale - 0.5
		f := math.Floor(src)
		for k := -1; k <= 2; k++ {
			idx := min(max(int(f)+k, 0), in-1)
			w[i][idx] += cubic(src - (f + float64(k)))
		}
	}
	return w
}

// TestTransformersResampleV444 checks transformers ≤ 4.44's rule on a grid
// that keeps one side of the table: F.interpolate(scale_factor=((h+0.1)/4,
// (w+0.1)/4)) moves the samples of that side too, while ≥ 4.45's rule
// leaves it alone; the table's own grid is left as it is by both.
func TestTransformersResampleV444(t *testing.T) {
	const n, dim = 4, 3
	r := rand.New(rand.NewPCG(1, 2))
	table := make([]float32, n*n*dim)
	for i := range table {
		table[i] = float32(r.NormFloat64())
	}
	old := posenc.Grid{H: n, W: n}
	for _, g := range []posenc.Grid{{H: 4, W: 6}, {H: 3, W: 4}, {H: 5, W: 7}} {
		got, err := posenc.ResampleAbsPosEmbed(table, 0, old, g, dim, posenc.TransformersResampleV444())
		if err != nil {
			t.Fatal(err)
		}
		wh := keysTaps(n, g.H, float64(n)/(float64(g.H)+0.1))
		ww := keysTaps(n, g.W, float64(n)/(float64(g.W)+0.1))
		worst := 0.0
		for i := 0; i < g.H; i++ {
			for j := 0; j < g.W; j++ {
				for c := 0; c < dim; c++ {
					var want float64
					for y := 0; y < n; y++ {
						for x := 0; x < n; x++ {
							want += wh[i][y] * ww[j][x] * float64(table[(y*n+x)*dim+c])
						}
					}
					worst = max(worst, math.Abs(float64(got[(i*g.W+j)*dim+c])-want))
				}
			}
		}
		if worst > 1e-5 {
			t.Errorf("%v: off transformers 4.44's rule by %g", g, worst)
		}
		plain, _ := posenc.ResampleAbsPosEmbed(table, 0, old, g, dim, posenc.TransformersResample())
		moved := 0.0
		for i := range plain {
			moved = max(moved, math.Abs(float64(plain[i]-got[i])))
		}
		if moved < 1e-2 {
			t.Errorf("%v: the two rules agree within %g; the test cannot tell them apart", g, moved)
		}
	}
	same, _ := posenc.ResampleAbsPosEmbed(table, 0, old, old, dim, posenc.TransformersResampleV444())
	for i := range same {
		if same[i] != table[i] {
			t.Fatalf("the table's own grid: value %d changed", i)
		}
	}
}
