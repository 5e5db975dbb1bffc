package posenc

import (
	"fmt"
	"math"

	"github.com/anyres/anyres/kernels"
)

// AttentionBias is a position encoding added to attention logits before the
// softmax: relative position bias (Swin, BEiT) and its continuous variants
// (SwinV2's CPB).
//
// AddBias adds one head's bias for grid g, in place, to the logits of
// queries [lo, hi): scores holds hi-lo rows of N (N = prefix + g.N(); row =
// query, column = key, prefix tokens first). lo = 0, hi = N is the whole
// matrix; a query tile is what attention computes at a time. g is the
// attention window: Swin's window, or BEiT's whole grid.
type AttentionBias interface {
	// Heads is the number of attention heads the bias has values for.
	Heads() int
	// AddBias adds head's bias for window g to the logits of queries [lo, hi).
	AddBias(scores []float32, head int, g Grid, prefix, lo, hi int) error
}

// RelPosTableRows is the number of rows of a relative position bias table
// for a window: one per relative offset, (2H-1)·(2W-1), plus BEiT's three
// class-token rows (class→patch, patch→class, class→class) with classToken.
func RelPosTableRows(window Grid, classToken bool) int {
	n := (2*window.H - 1) * (2*window.W - 1)
	if classToken {
		n += 3
	}
	return n
}

// RelativePositionIndex is timm's gen_relative_position_index(window,
// class_token): an N×N matrix (N = window.N(), plus 1 with classToken)
// whose entry (i, j) is the table row for the offset from key j to query
// i: (dy + H-1)·(2W-1) + (dx + W-1). With classToken, row 0 and column 0
// point at the three rows after the offsets, as in BEiT.
func RelativePositionIndex(window Grid, classToken bool) ([]int32, error) {
	if err := checkGrid(window); err != nil {
		return nil, err
	}
	if err := checkTableSize("relative position index", window.N()+1, window.N()+1); err != nil {
		return nil, err
	}
	p := 0
	if classToken {
		p = 1
	}
	n := window.N() + p
	idx := make([]int32, n*n)
	stride := 2*window.W - 1
	for i := 0; i < window.N(); i++ {
		yi, xi := i/window.W, i%window.W
		row := idx[(i+p)*n+p : (i+p+1)*n]
		for j := range row {
			yj, xj := j/window.W, j%window.W
			row[j] = int32((yi-yj+window.H-1)*stride + xi - xj + window.W - 1)
		}
	}
	if classToken {
		d := int32(RelPosTableRows(window, false))
		for j := 0; j < n; j++ {
			idx[j] = d       // class token → every key
			idx[j*n] = d + 1 // every query → class token
		}
		idx[0] = d + 2
	}
	return idx, nil
}

// ResizeRelPosTable is timm's resize_rel_pos_bias_table (BEiT's scheme) for
// a flat table (rows × heads, relative_position_bias_table's layout) learned
// for window from, made for window to. Offsets of the source are placed on a
// geometric progression that stretches them over the target's range, and
// each head is interpolated linearly over that uneven grid; extraRows rows
// at the end (BEiT's class-token rows) are kept as they are. timm infers a
// square source from the row count; here the source window is given, so
// non-square sources work too (square ones give timm's result). As in timm,
// nothing changes only when both table sides already match.
func ResizeRelPosTable(table []float32, heads int, from, to Grid, extraRows int) ([]float32, error) {
	if err := checkGrid(from); err != nil {
		return nil, fmt.Errorf("posenc: relative table source window: %w", err)
	}
	if err := checkGrid(to); err != nil {
		return nil, fmt.Errorf("posenc: relative table target window: %w", err)
	}
	if heads <= 0 || heads > 1<<12 || extraRows < 0 || extraRows > 3 {
		return nil, fmt.Errorf("posenc: relative table: %d heads and %d extra rows must be in 1..4096 and 0..3", heads, extraRows)
	}
	srcH, srcW := 2*from.H-1, 2*from.W-1
	if want := (srcH*srcW + extraRows) * heads; len(table) != want {
		return nil, fmt.Errorf("posenc: relative table has %d values, want (%d×%d offsets + %d extra rows)·%d heads = %d",
			len(table), srcH, srcW, extraRows, heads, want)
	}
	dstH, dstW := 2*to.H-1, 2*to.W-1
	if err := checkTableSize("resized relative table", dstH*dstW+extraRows, heads); err != nil {
		return nil, err
	}
	if srcH == dstH && srcW == dstW {
		return append([]float32(nil), table...), nil
	}
	py, px := progressionOffsets(srcH, dstH), progressionOffsets(srcW, dstW)
	ty, tx := targetOffsets(dstH), targetOffsets(dstW)
	out := make([]float32, (dstH*dstW+extraRows)*heads)
	ay, ax := make([]lerpTap, dstH), make([]lerpTap, dstW)
	for i, t := range ty {
		ay[i] = bucketTap(py, t)
	}
	for i, t := range tx {
		ax[i] = bucketTap(px, t)
	}
	for i, y := range ay {
		for j, x := range ax {
			// timm's RegularGridInterpolator, in its order of float32 steps.
			den := float32((y.dl + y.dr) * (x.dl + x.dr))
			for h := 0; h < heads; h++ {
				v := func(r, c int) float32 { return table[(r*srcW+c)*heads+h] }
				var num float32
				num += float32(v(y.l, x.l) * float32(y.dr*x.dr))
				num += float32(v(y.l, x.r) * float32(y.dr*x.dl))
				num += float32(v(y.r, x.l) * float32(y.dl*x.dr))
				num += float32(v(y.r, x.r) * float32(y.dl*x.dl))
				out[(i*dstW+j)*heads+h] = num / den
			}
		}
	}
	copy(out[dstH*dstW*heads:], table[srcH*srcW*heads:])
	return out, nil
}

// progressionOffsets is timm's _calc(src, dst): the source offsets placed at
// ±(1 + q + q² + …), with q found by bisection so that the progression
// reaches dst/2 — computed in float64 as Python does, then made float32 as
// torch.tensor does.
func progressionOffsets(src, dst int) []float32 {
	gp := func(r float64, n int) float64 { return (1 - math.Pow(r, float64(n))) / (1 - r) }
	left, right := 1.01, 1.5
	var q float64
	for right-left > 1e-6 {
		q = (left + right) / 2
		if gp(q, src/2) > float64(dst/2) {
			right = q
		} else {
			left = q
		}
	}
	dis := make([]float64, src/2)
	cur := 1.0
	for i := range dis {
		dis[i] = cur
		cur += math.Pow(q, float64(i+1))
	}
	out := make([]float32, 0, src)
	for i := len(dis) - 1; i >= 0; i-- {
		out = append(out, float32(-dis[i]))
	}
	out = append(out, 0)
	for _, d := range dis {
		out = append(out, float32(d))
	}
	return out
}

// targetOffsets is torch.arange(-t, t + 0.1, 1.0) with t = dst // 2.
func targetOffsets(dst int) []float32 {
	t := dst / 2
	out := make([]float32, 0, 2*t+1)
	for v := -t; v <= t; v++ {
		out = append(out, float32(v))
	}
	return out
}

// lerpTap is one axis of a RegularGridInterpolator lookup: the left and
// right source indices and the distances to them.
type lerpTap struct {
	l, r   int
	dl, dr float32
}

// bucketTap mirrors RegularGridInterpolator for one coordinate: bucketize,
// clamp, distances clamped at 0, and both set to 1 when both are 0.
func bucketTap(p []float32, x float32) lerpTap {
	r := 0
	for r < len(p) && p[r] < x { // torch.bucketize(right=False): first p[r] ≥ x
		r++
	}
	if r >= len(p) {
		r = len(p) - 1
	}
	l := max(r-1, 0)
	t := lerpTap{l: l, r: r, dl: x - p[l], dr: p[r] - x}
	t.dl, t.dr = max(t.dl, 0), max(t.dr, 0)
	if t.dl == 0 && t.dr == 0 {
		t.dl, t.dr = 1, 1
	}
	return t
}

// RelPosBias is Swin/BEiT's learned relative position bias as an
// AttentionBias: a table of one value per head for each relative offset in
// a window, added to each head's scores as RelativePositionIndex maps it
// (by the RelBiasAddWindow kernel, or RelBiasAdd's gathers for windows
// under 8 wide). For any other window the table is resized with
// ResizeRelPosTable (cached per window).
//
// Prefix tokens: with ClassToken (BEiT) the table's three extra rows bias
// the single class token; without it prefix tokens get no bias (zero rows
// and columns, as timm's RelPosMlp pads).
type RelPosBias struct {
	table      []float32
	heads      int
	window     Grid
	classToken bool
	offset     []float32
	interp     *ResampleOptions // resize by F.interpolate (NewRelPosBiasInterp); nil: timm's rule
	cache      perGridCache[relKey, *relPlan]
}

// NewRelPosBias wraps table (RelPosTableRows(window, classToken) rows ×
// heads, timm's relative_position_bias_table) learned for window. offset,
// if not nil, is a learned per-head constant added to every entry of that
// head's bias: it does not change a softmax on its own, but does when the
// logits are clamped or fed to a sigmoid, or compared across heads.
func NewRelPosBias(table []float32, heads int, window Grid, classToken bool, offset []float32) (*RelPosBias, error) {
	if err := checkGrid(window); err != nil {
		return nil, fmt.Errorf("posenc: relative bias window: %w", err)
	}
	if heads <= 0 || heads > 1<<12 {
		return nil, fmt.Errorf("posenc: relative bias: %d heads must be in 1..4096", heads)
	}
	rows := RelPosTableRows(window, classToken)
	if len(table) != rows*heads {
		return nil, fmt.Errorf("posenc: relative bias table for a %s window has %d values, want %d rows × %d heads = %d",
			window, len(table), rows, heads, rows*heads)
	}
	if offset != nil && len(offset) != heads {
		return nil, fmt.Errorf("posenc: relative bias offset has %d values, want one per head (%d)", len(offset), heads)
	}
	return &RelPosBias{table: table, heads: heads, window: window, classToken: classToken, offset: offset}, nil
}

// Heads is the number of attention heads the bias is for.
func (b *RelPosBias) Heads() int { return b.heads }

// AddBias adds head's relative position bias for window g to the scores of
// queries [lo, hi).
func (b *RelPosBias) AddBias(scores []float32, head int, g Grid, prefix, lo, hi int) error {
	p, err := b.plan(g, prefix)
	if err != nil {
		return err
	}
	return p.add(scores, head, lo, hi)
}

// Bias returns timm's get_bias(): heads × N × N, N = prefix + g.N().
func (b *RelPosBias) Bias(g Grid, prefix int) ([]float32, error) {
	p, err := b.plan(g, prefix)
	if err != nil {
		return nil, err
	}
	return p.bias(), nil
}

func (b *RelPosBias) plan(g Grid, prefix int) (*relPlan, error) {
	if err := checkRelPrefix(prefix, b.classToken); err != nil {
		return nil, err
	}
	return b.cache.get(relKey{g, prefix}, func() (*relPlan, error) {
		extra := 0
		if b.classToken {
			extra = 3
		}
		table, err := b.resized(g, extra)
		if err != nil {
			return nil, err
		}
		return newRelPlan(table, b.heads, g, b.classToken, prefix, b.offset)
	})
}

func checkRelPrefix(prefix int, classToken bool) error {
	if prefix < 0 || prefix > maxPrefix {
		return fmt.Errorf("posenc: relative bias: prefix %d must be in 0..%d", prefix, maxPrefix)
	}
	if classToken && prefix > 1 {
		return fmt.Errorf("posenc: relative bias with class-token rows takes one prefix token, got %d", prefix)
	}
	return nil
}

type relKey struct {
	g      Grid
	prefix int
}

// relPlan is a relative bias ready for one window. Each head gets one
// contiguous table: its offsets reversed (offset folded in), then the
// prefix entries — BEiT's three class entries (class→patch, patch→class,
// class→class) or one zero. Windows at least gatherMinWidth wide are added
// by the RelBiasAddWindow kernel (contiguous runs, no gathers) plus a
// scalar pass over the prefix rows and columns; narrower ones by the
// RelBiasAdd gather kernel over a full index, faster for runs that short.
type relPlan struct {
	g         Grid
	n, prefix int
	heads     int
	offsets   int       // (2H-1)(2W-1)
	rows      int       // entries per head in tables
	tables    []float32 // heads × rows
	class     bool      // tables end with BEiT's three class entries
	win       *kernels.RelWindow
	index     *kernels.RelIndex // the gather path's n×n index; nil on the window path
}

// gatherMinWidth is the window width from which contiguous runs beat
// gathers (BenchmarkRelBias; the numbers are in bench/peers/README.md).
const gatherMinWidth = 8

// newRelPlan prepares table (rows × heads: the offsets of window g then,
// with classToken, the three class rows) for N = prefix + g.N() tokens.
func newRelPlan(table []float32, heads int, g Grid, classToken bool, prefix int, offset []float32) (*relPlan, error) {
	if err := checkGrid(g); err != nil {
		return nil, err
	}
	n := prefix + g.N()
	if err := checkTableSize("relative bias scores", n, n); err != nil {
		return nil, err
	}
	p := &relPlan{g: g, n: n, prefix: prefix, heads: heads, offsets: RelPosTableRows(g, false),
		class: classToken && prefix == 1, win: kernels.NewRelWindow(g.H, g.W)}
	extra := 1
	if p.class {
		extra = 3
	}
	p.rows = p.offsets + extra
	p.tables = make([]float32, heads*p.rows)
	for h := 0; h < heads; h++ {
		t := p.tables[h*p.rows : (h+1)*p.rows]
		for r := 0; r < p.offsets; r++ {
			t[r] = table[(p.offsets-1-r)*heads+h]
		}
		if p.class {
			for k := 0; k < 3; k++ {
				t[p.offsets+k] = table[(p.offsets+k)*heads+h]
			}
		}
		if offset != nil {
			for r := range t {
				t[r] += offset[h]
			}
		}
	}
	if g.W < gatherMinWidth {
		idx, err := RelativePositionIndex(g, false)
		if err != nil {
			return nil, err
		}
		full := make([]int32, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				full[i*n+j] = int32(p.prefixEntry(i, j))
			}
		}
		for i := 0; i < g.N(); i++ {
			row := full[(i+prefix)*n+prefix : (i+prefix+1)*n]
			for j, v := range idx[i*g.N() : (i+1)*g.N()] {
				row[j] = int32(p.offsets-1) - v
			}
		}
		p.index = kernels.NewRelIndex(full, n, p.rows)
	}
	return p, nil
}

// prefixEntry is the table entry of a score with a prefix token in it.
func (p *relPlan) prefixEntry(i, j int) int {
	if !p.class {
		return p.offsets // the zero entry
	}
	switch {
	case i == 0 && j == 0:
		return p.offsets + 2
	case i == 0:
		return p.offsets
	default:
		return p.offsets + 1
	}
}

// add adds head's bias to the rows of queries [lo, hi).
func (p *relPlan) add(scores []float32, head, lo, hi int) error {
	if head < 0 || head >= p.heads {
		return fmt.Errorf("posenc: relative bias: head %d outside [0, %d)", head, p.heads)
	}
	if lo < 0 || hi < lo || hi > p.n {
		return fmt.Errorf("posenc: relative bias: queries [%d, %d) outside the %d tokens", lo, hi, p.n)
	}
	if len(scores) != (hi-lo)*p.n {
		return fmt.Errorf("posenc: relative bias for %d prefix + %s tokens: scores of queries [%d, %d) have %d values, want %d×%d",
			p.prefix, p.g, lo, hi, len(scores), hi-lo, p.n)
	}
	t := p.tables[head*p.rows : (head+1)*p.rows]
	if p.index != nil {
		kernels.RelBiasAdd(scores, t, p.index, lo, hi)
		return nil
	}
	for i := lo; i < hi; i++ { // prefix rows, and the prefix columns of patch rows
		jEnd := p.n
		if i >= p.prefix {
			jEnd = p.prefix
		}
		row := scores[(i-lo)*p.n:]
		for j := 0; j < jEnd; j++ {
			row[j] += t[p.prefixEntry(i, j)]
		}
	}
	if first := max(lo, p.prefix); first < hi {
		kernels.RelBiasAddWindow(scores[(first-lo)*p.n+p.prefix:], p.n, t, p.win, first-p.prefix, hi-p.prefix)
	}
	return nil
}

func (p *relPlan) bias() []float32 {
	out := make([]float32, p.heads*p.n*p.n)
	for h := 0; h < p.heads; h++ {
		p.add(out[h*p.n*p.n:(h+1)*p.n*p.n], h, 0, p.n)
	}
	return out
}
