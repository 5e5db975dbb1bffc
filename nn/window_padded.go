package nn

import "github.com/anyres/anyres/posenc"

// PaddedWindows cuts a token grid into non-overlapping windows the way
// timm's windowed attentions do without a shift (Twins' LocallyGroupedAttn,
// SAM's window_partition): the grid is zero-padded at the bottom and right
// to whole windows and cut row-major into windows, each window's tokens
// row-major. The window matrix holds Rows() rows, window after window; a
// row that falls in the padding stands for a zero token (no mask: it takes
// part in the softmax as F.pad made it).
type PaddedWindows struct {
	Grid   posenc.Grid // the token grid
	Win    [2]int      // window height and width
	NY, NX int         // windows down and across
}

// NewPaddedWindows cuts g into win[0]×win[1] windows (both sides ≥ 1).
func NewPaddedWindows(g posenc.Grid, win [2]int) PaddedWindows {
	return PaddedWindows{Grid: g, Win: win, NY: (g.H + win[0] - 1) / win[0], NX: (g.W + win[1] - 1) / win[1]}
}

// Count is the number of windows.
func (p PaddedWindows) Count() int { return p.NY * p.NX }

// Area is the number of tokens of one window.
func (p PaddedWindows) Area() int { return p.Win[0] * p.Win[1] }

// Rows is the number of rows of the window matrix, padding included.
func (p PaddedWindows) Rows() int { return p.Count() * p.Area() }

// Token is the grid token (row-major) that row r of the window matrix
// holds, or -1 for a padding row.
func (p PaddedWindows) Token(r int) int {
	a := p.Area()
	wi, t := r/a, r%a
	y := wi/p.NX*p.Win[0] + t/p.Win[1]
	x := wi%p.NX*p.Win[1] + t%p.Win[1]
	if y >= p.Grid.H || x >= p.Grid.W {
		return -1
	}
	return y*p.Grid.W + x
}
