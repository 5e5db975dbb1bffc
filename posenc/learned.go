package posenc

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
)

// Learned is a learned absolute position table (timm's pos_embed) that
// adds itself to tokens on any grid by resampling from the grid it was
// trained on. Resampled tables are cached per grid (the most recent 16);
// a Learned is safe for concurrent use.
type Learned struct {
	table       []float32 // (tablePrefix + old.N())×dim, a private copy
	tablePrefix int
	old         Grid
	dim         int
	opt         ResampleOptions

	cache perGridCache[Grid, []float32] // grid → (tablePrefix + g.N())×dim, read-only
}

// NewLearned makes a Learned from a table of tablePrefix prefix rows then
// old.H×old.W patch rows, dim values each (timm's pos_embed[0]). The table
// is copied. Resampling follows opt (DefaultResampleOptions for timm's).
//
// tablePrefix is the number of prefix tokens the table has rows for: the
// class and register tokens in timm's default layout, 0 for models built
// with no_embed_class (and for models without prefix tokens).
func NewLearned(table []float32, tablePrefix int, old Grid, dim int, opt ResampleOptions) (*Learned, error) {
	if err := checkAbsTable(table, tablePrefix, old, dim); err != nil {
		return nil, err
	}
	if err := opt.validate(); err != nil {
		return nil, err
	}
	if opt.Method == Fourier && max(old.H, old.W) > maxFourierSide {
		return nil, fmt.Errorf("posenc: Fourier resampling of a %v table: sides are limited to %d", old, maxFourierSide)
	}
	return &Learned{table: append([]float32(nil), table...), tablePrefix: tablePrefix, old: old, dim: dim, opt: opt}, nil
}

// Grid returns the grid the table was learned on.
func (l *Learned) Grid() Grid { return l.old }

// Prefix returns the number of prefix rows the table holds.
func (l *Learned) Prefix() int { return l.tablePrefix }

// Dim returns the width of a row.
func (l *Learned) Dim() int { return l.dim }

// Options returns the resampling options.
func (l *Learned) Options() ResampleOptions { return l.opt }

// Table returns the table resampled to g: Prefix() rows, then g.H×g.W patch
// rows, Dim() values each. The slice is the caller's.
func (l *Learned) Table(g Grid) ([]float32, error) {
	t, err := l.tableFor(g)
	if err != nil {
		return nil, err
	}
	return append([]float32(nil), t...), nil
}

// AddTo adds the table resampled to g to the tokens x: prefix tokens then
// g.H×g.W patch tokens, dim values each. With as many prefix tokens as the
// table has prefix rows, every row gets its own (timm's default); with a
// table that has no prefix rows (no_embed_class), only the patch tokens get
// a position and the prefix tokens are left as they are. Any other
// combination is an error.
func (l *Learned) AddTo(x []float32, prefix int, g Grid, dim int) error {
	if err := CheckTokens(x, prefix, g, dim); err != nil {
		return err
	}
	if dim != l.dim {
		return fmt.Errorf("posenc: tokens are %d wide, the position table %d", dim, l.dim)
	}
	skip := 0
	switch {
	case prefix == l.tablePrefix:
	case l.tablePrefix == 0:
		skip = prefix * dim // no_embed_class: prefix tokens get no position
	default:
		return fmt.Errorf("posenc: %d prefix tokens, but the position table has rows for %d (want %d, or a table with none)",
			prefix, l.tablePrefix, l.tablePrefix)
	}
	t, err := l.tableFor(g)
	if err != nil {
		return err
	}
	kernels.Add(x[skip:], x[skip:], t)
	return nil
}

// tableFor returns the cached table for g, resampling it on a miss.
func (l *Learned) tableFor(g Grid) ([]float32, error) {
	return l.cache.get(g, func() ([]float32, error) {
		return ResampleAbsPosEmbed(l.table, l.tablePrefix, l.old, g, l.dim, l.opt)
	})
}
