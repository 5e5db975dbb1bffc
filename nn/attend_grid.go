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
	tile := min(gridTile(n, qb != nil), span)
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
// GEMMs see many rows), the bias itself for a tile of query rows at a
// time (gridTile), never for the whole N×N matrix. Long grids
// run the fused kernel (kernels.AttentionPacked, k and v packed once per
// call), short ones Q·Kᵀ, softmax and P·V, as the encoder's attention
// does. Results depend on the inputs and lo alone.
func AttendGrid(out []float32, ldo int, q []float32, ldq int, k []float32, ldk int, v []float32, ldv int,
	g posenc.Grid, lo, hi, hd int, scale float32, qb posenc.QueryBias, s *GridScratch) error {
	n := g.N()
	if lo < 0 || hi > n || lo >= hi {
		return fmt.Errorf("nn: AttendGrid: queries [%d, %d) of a %s grid", lo, hi, g)
	}
	qt := gridTile(n, qb != nil)
	tile := min(qt, hi-lo)
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
	for t := lo; t < hi; t += qt {
		e := min(hi, t+qt)
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

// biasTileFloats bounds one tile of AttendGrid's bias: 512 KB, within
// a core's L2 on every x86 core anyres targets (Zen 3 has 512 KB).
const biasTileFloats = 1 << 17

// gridTile is how many query rows AttendGrid takes at a time on a grid of
// n tokens: queryTile, or with a bias as many whole register tiles of the
// GEMM as keep the tile's bias (rows×n) within biasTileFloats, at least
// one: the kernel reads the bias back right after Fill writes it, and a
// tile that outgrows L2 makes it come back from L3 (SAM-B's global
// attention at 1024²: 256×4096 floats, 4 MB).
func gridTile(n int, biased bool) int {
	if !biased || n == 0 {
		return queryTile
	}
	mr := kernels.GemmRowTile()
	return max(mr, min(queryTile, biasTileFloats/n/mr*mr))
}
