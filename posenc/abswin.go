package posenc

import "fmt"

// AbsWin is Hiera's absolute windowed position (timm's abs_win_pos_embed,
// from "Window Attention is Bugged: How not to Interpolate Position
// Embeddings"): a global table resampled to the token grid (F.interpolate,
// bicubic with antialias in timm) plus a table of one window (mask unit)
// tiled over the grid, summed. The grid must be whole windows. Tables are
// cached per grid; an AbsWin is safe for concurrent use.
type AbsWin struct {
	global *Learned
	win    []float32 // unit.N() rows of dim
	unit   Grid
	dim    int
	cache  perGridCache[Grid, []float32]
}

// NewAbsWin makes an AbsWin from channels-last tables: global (old.N()
// rows of dim, no prefix rows) and win (unit.N() rows). Both are copied.
func NewAbsWin(global []float32, old Grid, win []float32, unit Grid, dim int, opt ResampleOptions) (*AbsWin, error) {
	g, err := NewLearned(global, 0, old, dim, opt)
	if err != nil {
		return nil, err
	}
	if unit.H < 1 || unit.W < 1 || len(win) != unit.N()*dim {
		return nil, fmt.Errorf("posenc: window table of %d values for a %v window of %d channels", len(win), unit, dim)
	}
	return &AbsWin{global: g, win: append([]float32(nil), win...), unit: unit, dim: dim}, nil
}

// Unit is the window the second table covers.
func (a *AbsWin) Unit() Grid { return a.unit }

// Shared returns the position of every token of g (row-major, dim values
// each) from the per-grid cache: the global table resampled to g, plus the
// window table at (y mod unit.H, x mod unit.W). The slice is shared:
// callers must not modify it.
func (a *AbsWin) Shared(g Grid) ([]float32, error) {
	if g.H < a.unit.H || g.W < a.unit.W || g.H%a.unit.H != 0 || g.W%a.unit.W != 0 {
		return nil, fmt.Errorf("posenc: a %v grid is not whole %v windows", g, a.unit)
	}
	return a.cache.get(g, func() ([]float32, error) {
		t, err := a.global.Table(g)
		if err != nil {
			return nil, err
		}
		d := a.dim
		for y := 0; y < g.H; y++ {
			for x := 0; x < g.W; x++ {
				row := t[(y*g.W+x)*d : (y*g.W+x+1)*d]
				win := a.win[((y%a.unit.H)*a.unit.W+x%a.unit.W)*d:]
				for j := range row {
					row[j] += win[j]
				}
			}
		}
		return t, nil
	})
}
