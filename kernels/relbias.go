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
	if n < 0 || rows < 0 || len(index) != n*n {
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

// RelBiasAdd adds a gathered relative position bias to one head's n×n
// attention scores: scores[i·n+j] += table[index[i·n+j]], where table holds
// that head's bias for each relative position (one column of timm's
// relative_position_bias_table, made contiguous).
func RelBiasAdd(scores, table []float32, index *RelIndex) {
	n := index.n
	if len(scores) != n*n {
		panic(fmt.Sprintf("kernels: RelBiasAdd: scores have %d values, want %d×%d", len(scores), n, n))
	}
	if len(table) < index.rows {
		panic(fmt.Sprintf("kernels: RelBiasAdd: table has %d entries, index needs %d", len(table), index.rows))
	}
	if n == 0 {
		return
	}
	relBiasAdd(scores, table, index.idx)
}

// relBiasAdd points at the implementation chosen by dispatch.
var relBiasAdd = relBiasAddGeneric

func relBiasAddGeneric(scores, table []float32, index []int32) {
	index = index[:len(scores)]
	for i, r := range index {
		scores[i] += table[r]
	}
}
