package posenc

import "fmt"

// NewRelPosBiasInterp is NewRelPosBias with the table resized to other
// windows as Hugging Face transformers' BEiT does, not as timm does: the
// (2H−1)×(2W−1) offset part, seen as a grid of heads channels, goes
// through F.interpolate to (2h−1)×(2w−1) with opt (transformers:
// bilinear, align_corners=False); the class rows are kept.
func NewRelPosBiasInterp(table []float32, heads int, window Grid, classToken bool, offset []float32, opt ResampleOptions) (*RelPosBias, error) {
	if err := opt.validate(); err != nil {
		return nil, err
	}
	b, err := NewRelPosBias(table, heads, window, classToken, offset)
	if err != nil {
		return nil, err
	}
	b.interp = &opt
	return b, nil
}

// resized is the table for window g: resampled by interp when set, else
// timm's resize_rel_pos_bias_table.
func (b *RelPosBias) resized(g Grid, extra int) ([]float32, error) {
	if b.interp == nil {
		return ResizeRelPosTable(b.table, b.heads, b.window, g, extra)
	}
	if err := checkGrid(g); err != nil {
		return nil, fmt.Errorf("posenc: relative table target window: %w", err)
	}
	from := Grid{H: 2*b.window.H - 1, W: 2*b.window.W - 1}
	to := Grid{H: 2*g.H - 1, W: 2*g.W - 1}
	if err := checkTableSize("resized relative table", to.N()+extra, b.heads); err != nil {
		return nil, err
	}
	off, err := ResampleGrid(b.table[:from.N()*b.heads], from, to, b.heads, *b.interp)
	if err != nil {
		return nil, err
	}
	return append(off, b.table[from.N()*b.heads:]...), nil
}
