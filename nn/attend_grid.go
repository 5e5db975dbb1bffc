package nn

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/posenc"
)

// GridScratch is one worker's buffers for AttendGrid; they only grow.
type GridScratch struct {
	// KV is how long grids' attention packs keys and values
	// (kernels.PackAttentionKVAs): set it to the qkv projection's
	// Linear.AttentionPrecision.
	KV                  kernels.KVPrecision
	kv                  kernels.AttentionKV
	bias, terms, scores []float32
}

// Reserve grows s to serve AttendGrid on grid g for spans of up to span
// queries of width hd with bias qb (nil: none), packing keys and values
// as p (the KV the call will have). Which worker runs which item depends
// on scheduling, so a workspace reserves every worker's scratch for every
// call it may meet: a worker meeting one only now and then would otherwise
// grow it in the middle of a warm pass.
func (s *GridScratch) Reserve(g posenc.Grid, span, hd int, qb posenc.QueryBias, p kernels.KVPrecision) {
	n := g.N()
	span = min(span, n)
	tile := min(queryTile, span)
	switch {
	case n >= fusedFrom():
		s.kv.ReserveAs(p, n, hd)
	default:
		s.scores = Grow(s.scores, max(len(s.scores), tile*n))
	}
	if qb != nil {
		s.bias = Grow(s.bias, max(len(s.bias), tile*n))
		s.terms = Grow(s.terms, max(len(s.terms), span*qb.TermsLen(g)))
	}
}

// AttendGrid is one head's self-attention over the tokens of a grid g with
// a query-dependent bias (posenc.QueryBias: SAM's decomposed relative
// position), for queries [lo, hi): out = softmax(scale·q·kᵀ + qb(q))·v.
// q, k, v and out hold all g.N() rows (strides ldq, ldk, ldv, ldo), so
// heads can stay interleaved in a fused qkv matrix; only rows [lo, hi) of
// out are written. A nil qb adds nothing.
//
// The bias's per-query terms are computed once for the whole span (so its
// GEMMs see many rows), the bias itself for queryTile query rows at a
// time (queryTile×N values), never for the whole N×N matrix. Long grids
// run the fused kernel (kernels.AttentionPacked, k and v packed once per
// call), short ones Q·Kᵀ, softmax and P·V, as the encoder's attention
// does. Results depend on the inputs and lo alone.
func AttendGrid(out []float32, ldo int, q []float32, ldq int, k []float32, ldk int, v []float32, ldv int,
	g posenc.Grid, lo, hi, hd int, scale float32, qb posenc.QueryBias, s *GridScratch) error {
	n := g.N()
	if lo < 0 || hi > n || lo >= hi {
		return fmt.Errorf("nn: AttendGrid: queries [%d, %d) of a %s grid", lo, hi, g)
	}
	tile := min(queryTile, hi-lo)
	fused := n >= fusedFrom()
	if fused {
		kernels.PackAttentionKVAs(&s.kv, s.KV, k, v, ldk, ldv, n, hd)
	} else {
		s.scores = Grow(s.scores, tile*n)
	}
	tl := 0
	if qb != nil {
		tl = qb.TermsLen(g)
		s.bias = Grow(s.bias, tile*n)
		s.terms = Grow(s.terms, (hi-lo)*tl)
		if err := qb.Terms(s.terms, q[lo*ldq:], ldq, g, lo, hi); err != nil {
			return err
		}
	}
	for t := lo; t < hi; t += queryTile {
		e := min(hi, t+queryTile)
		rows := e - t
		var bias []float32
		if qb != nil {
			bias = s.bias[:rows*n]
			qb.Fill(bias, n, s.terms[(t-lo)*tl:], g, rows)
		}
		if fused {
			kernels.AttentionPacked(out[t*ldo:], ldo, q[t*ldq:], ldq, rows, &s.kv, scale, bias, n)
		} else {
			AttendHead(out[t*ldo:], ldo, q[t*ldq:], ldq, k, ldk, v, ldv, rows, n, hd, scale, bias, s.scores)
		}
	}
	return nil
}
