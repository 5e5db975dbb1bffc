package kernels

import "fmt"

// RelIndex is an n×n index into a table of rows entries, checked once when
// it is made so that RelBiasAdd can gather without bounds checks.
type RelIndex struct {
	n, rows int
	idx     []int32
}

// NewRelIndex checks that index holds n×n entries in [0, rows) and wraps it
// (without copying; the caller must not change index afterwards). It panics
// on a bad entry: indices are built by code, not read from outside.
func NewRelIndex(index []int32, n, rows int) *RelIndex {
	if n < 0 || rows < 0 || !sameProduct(len(index), n, n) {
		panic(fmt.Sprintf("kernels: NewRelIndex: %d entries for %d×%d", len(index), n, n))
	}
	for i, v := range index {
		if v < 0 || int(v) >= rows {
			panic(fmt.Sprintf("kernels: NewRelIndex: entry %d = %d outside [0, %d)", i, v, rows))
		}
	}
	return &RelIndex{n: n, rows: rows, idx: index}
}

// N is the side of the index (the token count of the scores it applies to).
func (r *RelIndex) N() int { return r.n }

// Rows is the table length the index needs.
func (r *RelIndex) Rows() int { return r.rows }

// RelBiasAdd adds a gathered relative position bias to the scores of
// queries [lo, hi) of one head: scores holds (hi-lo) rows of n, and
// scores[(i-lo)·n+j] += table[index[i·n+j]], where table holds that head's
// bias for each relative position (one column of timm's
// relative_position_bias_table, made contiguous).
func RelBiasAdd(scores, table []float32, index *RelIndex, lo, hi int) {
	n := index.n
	if lo < 0 || hi < lo || hi > n {
		panic(fmt.Sprintf("kernels: RelBiasAdd: query range [%d, %d) outside [0, %d]", lo, hi, n))
	}
	if !sameProduct(len(scores), hi-lo, n) {
		panic(fmt.Sprintf("kernels: RelBiasAdd: scores have %d values, want %d×%d", len(scores), hi-lo, n))
	}
	if len(table) < index.rows {
		panic(fmt.Sprintf("kernels: RelBiasAdd: table has %d entries, index needs %d", len(table), index.rows))
	}
	if len(scores) == 0 {
		return
	}
	relBiasAdd(scores, table, index.idx[lo*n:hi*n])
}

// relBiasAdd points at the implementation chosen by dispatch.
var relBiasAdd = relBiasAddGeneric

func relBiasAddGeneric(scores, table []float32, index []int32) {
	index = index[:len(scores)]
	for i, r := range index {
		scores[i] += table[r]
	}
}

// RelWindow is the layout of Swin's relative position index for an h×w
// window, prepared for RelBiasAddWindow: for query i = (yi, xi) and the keys
// of one window row yj, the index runs down a contiguous stretch of the
// table, so a reversed table is read forwards with plain vector loads
// instead of gathers.
type RelWindow struct {
	h, w, rows int
	start      []int32 // per query: where key (0, 0) reads the reversed table
}

// NewRelWindow prepares an h×w window (h, w ≥ 1).
func NewRelWindow(h, w int) *RelWindow {
	if h <= 0 || w <= 0 || h > 1<<14 || w > 1<<14 {
		panic(fmt.Sprintf("kernels: NewRelWindow: window %d×%d outside 1..16384", h, w))
	}
	rows := (2*h - 1) * (2*w - 1)
	r := &RelWindow{h: h, w: w, rows: rows, start: make([]int32, h*w)}
	for i := range r.start {
		yi, xi := i/w, i%w
		// rows-1 - index(i, (0, 0)) with index = (yi-yj+h-1)(2w-1) + xi-xj+w-1.
		r.start[i] = int32(rows - w - xi - (yi+h-1)*(2*w-1))
	}
	return r
}

// N is the window's token count.
func (r *RelWindow) N() int { return r.h * r.w }

// Rows is the table length: (2h-1)·(2w-1).
func (r *RelWindow) Rows() int { return r.rows }

// RelBiasAddWindow adds one head's relative position bias to the scores of
// the window's queries [lo, hi) against all N of its keys: rows of N at
// stride ld ≥ N (so the block may sit inside a matrix that also has prefix
// tokens), the first row for query lo:
//
//	scores[(i-lo)·ld + j] += rev[Rows()-1 - index(i, j)]
//
// where index is Swin's relative_position_index of the window and rev is
// the head's table in reverse order (rev[k] = table[Rows()-1-k]).
func RelBiasAddWindow(scores []float32, ld int, rev []float32, win *RelWindow, lo, hi int) {
	n := win.N()
	if lo < 0 || hi < lo || hi > n {
		panic(fmt.Sprintf("kernels: RelBiasAddWindow: query range [%d, %d) outside [0, %d]", lo, hi, n))
	}
	if ld < n {
		panic(fmt.Sprintf("kernels: RelBiasAddWindow: row stride %d < %d", ld, n))
	}
	if len(rev) < win.rows {
		panic(fmt.Sprintf("kernels: RelBiasAddWindow: table has %d entries, the window needs %d", len(rev), win.rows))
	}
	if hi == lo {
		return
	}
	if !holdsRows(len(scores), hi-lo, n, ld) {
		panic(fmt.Sprintf("kernels: RelBiasAddWindow: scores have %d values, need %s for %d×%d with stride %d", len(scores), needRows(hi-lo, n, ld), hi-lo, n, ld))
	}
	relBiasWindow(scores, ld, rev, win.start[lo:hi], win.h, win.w)
}

// relBiasWindow points at the implementation chosen by dispatch.
var relBiasWindow = relBiasWindowGeneric

// relBiasWindowGeneric adds the rows of the queries whose starts are given.
func relBiasWindowGeneric(scores []float32, ld int, rev []float32, start []int32, h, w int) {
	n := h * w
	for i, s := range start {
		row := scores[i*ld : i*ld+n]
		s := int(s)
		for yj := 0; yj < h; yj++ {
			seg, src := row[yj*w:(yj+1)*w], rev[s:s+w]
			for x := range seg {
				seg[x] += src[x]
			}
			s += 2*w - 1
		}
	}
}
