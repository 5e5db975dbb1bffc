package posenc

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
)

// QueryBias is an attention bias that depends on the queries as well as on
// where they are: MViTv2's and SAM's decomposed relative position, whose
// bias for query i and key j is q_i·R_h[y_i, y_j] + q_i·R_w[x_i, x_j].
// Unlike an AttentionBias it cannot be tabled per grid. Attention builds
// it in two steps: Terms, the per-query products for a span of queries
// (TermsLen(g) values per query: GEMMs that want many rows at once), then
// Fill, the bias of a block of those queries against every key, from
// their terms (one query block of bias at a time, never N×N).
type QueryBias interface {
	// TermsLen is the number of per-query values Terms writes on grid g.
	TermsLen(g Grid) int
	// Terms writes the terms of queries [lo, hi) of grid g (self-attention
	// over the same grid) to terms, TermsLen(g) values per query: query
	// lo+r's hd values start at q[r·ldq].
	Terms(terms []float32, q []float32, ldq int, g Grid, lo, hi int) error
	// Fill writes the bias of rows queries, whose terms start at terms,
	// against all g.N() keys: bias row r (stride ldb).
	Fill(bias []float32, ldb int, terms []float32, g Grid, rows int)
}

// DecomposedRelPos is the decomposed relative position of MViTv2, ViTDet
// and SAM (timm vision_transformer_sam.py: rel_pos_h, rel_pos_w): one
// table per axis of 2·size−1 rows of head-dim values, one row per offset.
// For a grid of other sizes each table is resized along its rows to
// 2·side−1 by linear interpolation (get_rel_pos's F.interpolate, mode
// "linear", align_corners false, no antialias), then indexed by offset.
// The bias is added to the scaled logits and uses the unscaled q.
//
// Per-grid tables are cached (the most recent 16); safe for concurrent use.
type DecomposedRelPos struct {
	h, w         []float32
	rowsH, rowsW int
	dim          int
	cache        perGridCache[Grid, decomposedTables]
}

// decomposedTables are one grid's per-offset rows: rh is H×H×dim (query
// row, key row), rw W×W×dim.
type decomposedTables struct{ rh, rw []float32 }

// NewDecomposedRelPos makes a DecomposedRelPos from rel_pos_h (rowsH×dim)
// and rel_pos_w (rowsW×dim); the tables are copied.
func NewDecomposedRelPos(h []float32, rowsH int, w []float32, rowsW int, dim int) (*DecomposedRelPos, error) {
	if rowsH <= 0 || rowsW <= 0 || dim <= 0 {
		return nil, fmt.Errorf("posenc: decomposed relative position: %d and %d rows of %d must be positive", rowsH, rowsW, dim)
	}
	if len(h) != rowsH*dim || len(w) != rowsW*dim {
		return nil, fmt.Errorf("posenc: decomposed relative position: tables have %d and %d values, want %d×%d and %d×%d",
			len(h), len(w), rowsH, dim, rowsW, dim)
	}
	return &DecomposedRelPos{h: append([]float32(nil), h...), w: append([]float32(nil), w...), rowsH: rowsH, rowsW: rowsW, dim: dim}, nil
}

// Dim is the head dimension the tables hold.
func (d *DecomposedRelPos) Dim() int { return d.dim }

// Rows is the number of rows of the height and width tables.
func (d *DecomposedRelPos) Rows() (h, w int) { return d.rowsH, d.rowsW }

// GetRelPos is timm's get_rel_pos(q, k, table): the table (rows×dim) resized
// to 2·max(q, k)−1 rows when it has another count, then gathered per
// (query, key) pair: q×k rows of dim, row i·k+j the embedding of query
// position i against key position j, at offset
// i·max(k/q, 1) − j·max(q/k, 1) + (k−1)·max(q/k, 1) (truncated).
func GetRelPos(table []float32, rows, dim, q, k int) ([]float32, error) {
	if rows <= 0 || dim <= 0 || q <= 0 || k <= 0 || len(table) != rows*dim {
		return nil, fmt.Errorf("posenc: GetRelPos: %d values for %d rows of %d, q %d, k %d", len(table), rows, dim, q, k)
	}
	if err := checkTableSize("decomposed relative position", q*k, dim); err != nil {
		return nil, err
	}
	l := 2*max(q, k) - 1
	src := table
	if rows != l {
		var err error
		if src, err = ResizeRelPos(table, rows, dim, l); err != nil {
			return nil, fmt.Errorf("posenc: GetRelPos: %w", err)
		}
	}
	qs, ks := max(float64(k)/float64(q), 1), max(float64(q)/float64(k), 1)
	out := make([]float32, q*k*dim)
	for i := 0; i < q; i++ {
		for j := 0; j < k; j++ {
			r := int(float64(i)*qs - float64(j)*ks + float64(k-1)*ks)
			copy(out[(i*k+j)*dim:(i*k+j+1)*dim], src[r*dim:(r+1)*dim])
		}
	}
	return out, nil
}

// ResizeRelPos resizes a decomposed relative position table (rows×dim,
// one row per offset) to newRows rows: get_rel_pos's F.interpolate along
// the rows, mode "linear", align_corners false, no antialias.
func ResizeRelPos(table []float32, rows, dim, newRows int) ([]float32, error) {
	return ResampleGrid(table, Grid{H: 1, W: rows}, Grid{H: 1, W: newRows}, dim, ResampleOptions{Method: Bilinear})
}

// tables returns g's resized and gathered tables, cached.
func (d *DecomposedRelPos) tables(g Grid) (decomposedTables, error) {
	return d.cache.get(g, func() (decomposedTables, error) {
		rh, err := GetRelPos(d.h, d.rowsH, d.dim, g.H, g.H)
		if err != nil {
			return decomposedTables{}, err
		}
		rw, err := GetRelPos(d.w, d.rowsW, d.dim, g.W, g.W)
		return decomposedTables{rh, rw}, err
	})
}

// TermsLen is g.H + g.W: a query's q·R_h against every key row and q·R_w
// against every key column.
func (d *DecomposedRelPos) TermsLen(g Grid) int { return g.H + g.W }

// Terms writes, for queries r = lo..hi-1 at (y, x) of grid g, q·R_h[y, ky]
// for every key row ky, then q·R_w[x, kx] for every key column kx (timm
// get_decomposed_rel_pos_bias's rel_h and rel_w). The products run as
// GEMMs: queries of one grid row share R_h[y], queries of one grid column
// (every W-th row) share R_w[x], so a longer span packs each table row
// for more queries.
func (d *DecomposedRelPos) Terms(terms []float32, q []float32, ldq int, g Grid, lo, hi int) error {
	if err := g.Validate(); err != nil {
		return err
	}
	n, rows, hd, tl := g.N(), hi-lo, d.dim, g.H+g.W
	if lo < 0 || hi > n || rows <= 0 {
		return fmt.Errorf("posenc: decomposed relative position: queries [%d, %d) of a %s grid", lo, hi, g)
	}
	if ldq < hd || len(q) < (rows-1)*ldq+hd || len(terms) < rows*tl {
		return fmt.Errorf("posenc: decomposed relative position: buffers too short for %d queries of a %s grid (head dim %d)", rows, g, hd)
	}
	t, err := d.tables(g)
	if err != nil {
		return err
	}
	for y := lo / g.W; y*g.W < hi; y++ {
		a, b := max(lo, y*g.W), min(hi, (y+1)*g.W)
		kernels.Sgemm(1, false, true, b-a, g.H, hd, 1, q[(a-lo)*ldq:], ldq, t.rh[y*g.H*hd:], hd, 0, terms[(a-lo)*tl:], tl)
	}
	for x := 0; x < g.W; x++ {
		first := lo + ((x-lo)%g.W+g.W)%g.W // the first query of column x at or after lo
		if first >= hi {
			continue
		}
		m := (hi-1-first)/g.W + 1
		kernels.Sgemm(1, false, true, m, g.W, hd, 1, q[(first-lo)*ldq:], g.W*ldq, t.rw[x*g.W*hd:], hd, 0, terms[(first-lo)*tl+g.H:], g.W*tl)
	}
	return nil
}

// Fill writes bias[r, ky·W+kx] = rel_h[r, ky] + rel_w[r, kx] from the
// terms Terms wrote.
func (d *DecomposedRelPos) Fill(bias []float32, ldb int, terms []float32, g Grid, rows int) {
	n, tl := g.N(), g.H+g.W
	for r := 0; r < rows; r++ {
		t := terms[r*tl : (r+1)*tl]
		kernels.OuterSum(bias[r*ldb:r*ldb+n], t[:g.H], t[g.H:])
	}
}

var _ QueryBias = (*DecomposedRelPos)(nil)
