package naflex

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/posenc"
)

// squarePos is NaFlexEmbeds' aspect-preserving table
// (pos_embed_ar_preserving, timm's naflexvit_*_par_* models): for an H×W
// grid the table is resampled to L×L, L = max(H, W), and its top-left H×W
// corner is added, so a token's position is scaled the same way on both
// axes. Tables are cached per grid (posenc.GridCache); safe for
// concurrent use.
type squarePos struct {
	table *posenc.Learned // patch rows only (no prefix rows)
	cache posenc.GridCache[[]float32]
}

// AddTo adds the table to the patch rows of x; prefix rows get none.
func (p *squarePos) AddTo(x []float32, prefix int, g posenc.Grid, dim int) error {
	if err := posenc.CheckTokens(x, prefix, g, dim); err != nil {
		return err
	}
	if dim != p.table.Dim() {
		return fmt.Errorf("naflex: tokens are %d wide, the position table %d", dim, p.table.Dim())
	}
	t, err := p.tableFor(g)
	if err != nil {
		return err
	}
	kernels.Add(x[prefix*dim:], x[prefix*dim:], t)
	return nil
}

func (p *squarePos) tableFor(g posenc.Grid) ([]float32, error) {
	return p.cache.Get(g, func() ([]float32, error) { return p.build(g) })
}

// build cuts g's table from the L×L one.
func (p *squarePos) build(g posenc.Grid) ([]float32, error) {
	l := max(g.H, g.W)
	sq, err := p.table.Table(posenc.Grid{H: l, W: l})
	if err != nil {
		return nil, err
	}
	d := p.table.Dim()
	t := make([]float32, g.N()*d)
	for y := 0; y < g.H; y++ {
		copy(t[y*g.W*d:(y+1)*g.W*d], sq[y*l*d:(y*l+g.W)*d])
	}
	return t, nil
}
