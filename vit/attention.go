package vit

import (
	"math"

	"github.com/anyres/anyres/kernels"
)

// attentionItem computes one head's attention for query rows [it.lo, it.hi)
// of segment it.seg, against that segment's keys only: packed images never
// see each other (a block-diagonal mask, without materialising it).
//
// q, k and v stay interleaved in the qkv matrix (timm's [3, heads, head_dim]
// column order), read with a row stride of 3·dim. The scores of one query
// tile of one head (at most queryTile×n) are the only N-sized buffer, one
// per worker.
func (ws *workspace) attentionItem(worker int, it item) {
	c := ws.m.cfg
	d, hd := c.EmbedDim, c.HeadDim()
	s := &ws.segs[it.seg]
	n, rows := s.n, it.hi-it.lo
	col := it.head * hd
	q := ws.qkv[(s.off+it.lo)*3*d+col:]
	k := ws.qkv[s.off*3*d+d+col:]
	v := ws.qkv[s.off*3*d+2*d+col:]
	scores := ws.work[worker].scores[:rows*n]
	kernels.Sgemm(1, false, true, rows, n, hd, 1, q, 3*d, k, 3*d, 0, scores, n)
	scale := float32(1 / math.Sqrt(float64(hd)))
	for r := 0; r < rows; r++ {
		kernels.Softmax(scores[r*n:(r+1)*n], scale, nil)
	}
	kernels.Sgemm(1, false, false, rows, hd, n, 1, scores, n, v, 3*d, 0, ws.ao[(s.off+it.lo)*d+col:], d)
}

// attentionItems lists the (segment, head, query tile) items of one
// attention phase.
func (ws *workspace) attentionItems() {
	ws.attn = ws.attn[:0]
	heads := ws.m.cfg.NumHeads
	for si, s := range ws.segs {
		for h := 0; h < heads; h++ {
			for lo := 0; lo < s.n; lo += queryTile {
				ws.attn = append(ws.attn, item{seg: si, head: h, lo: lo, hi: min(s.n, lo+queryTile)})
			}
		}
	}
}

// embedItems lists the patch tiles of every segment.
func (ws *workspace) embedItems() {
	ws.embed = ws.embed[:0]
	for si, s := range ws.segs {
		for lo := 0; lo < s.grid.N(); lo += patchTile {
			ws.embed = append(ws.embed, item{seg: si, lo: lo, hi: min(s.grid.N(), lo+patchTile)})
		}
	}
}
