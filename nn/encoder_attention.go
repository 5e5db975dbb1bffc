package nn

import (
	"fmt"
	"math"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/posenc"
)

// fusedMinKeys, when positive, is the image length from which attention
// runs fused (kernels.AttentionPacked: flash-style, online softmax, k and
// v packed once per head); 0, the default, takes the kernel level's
// kernels.AttentionMinKeys: every length with the AVX2 and AVX-512 fused
// attention kernels (faster than scores + softmax + P·V from 197 tokens
// up), 1024 elsewhere (where the GEMM-kernel path overtakes the plain one;
// measurements in bench/peers/README.md). Which path runs
// depends on the image and the level alone, never on the thread count.
var fusedMinKeys = 0 // a variable only so that tests can compare both paths

// fusedFrom is the image length from which attention runs fused.
func fusedFrom() int {
	if fusedMinKeys > 0 {
		return fusedMinKeys
	}
	return kernels.AttentionMinKeys()
}

// attentionItem computes one head's attention for query rows [it.lo, it.hi)
// of segment it.seg, against that segment's keys only: packed images never
// see each other (a block-diagonal mask, without materialising it).
//
// q, k and v stay interleaved in the qkv matrix (timm's [3, heads, head_dim]
// column order), read with a row stride of 3·dim. Queries go a tile of
// queryTile rows at a time; the only N-sized buffers are one tile's
// scores (short images) or bias, one per worker. For long images the item
// spans several tiles, which share one packing of the head's k and v.
func (ws *workspace) attentionItem(worker int, it item) {
	e := ws.m.enc
	d, hd := e.Dim, e.HeadDim()
	s := &ws.segs[it.seg]
	n := s.n
	col := it.head * hd
	k := ws.qkv[s.off*3*d+d+col:]
	v := ws.qkv[s.off*3*d+2*d+col:]
	scale := float32(1 / math.Sqrt(float64(hd)))
	w := &ws.work[worker]
	fused := n >= fusedFrom()
	if fused {
		kernels.PackAttentionKVAs(&w.kv, e.attentionPrecision(ws.block), k, v, 3*d, 3*d, n, hd)
	}
	ab := e.bias(ws.block)
	for lo := it.lo; lo < it.hi; lo += queryTile {
		hi := min(it.hi, lo+queryTile)
		rows := hi - lo
		q := ws.qkv[(s.off+lo)*3*d+col:]
		out := ws.ao[(s.off+lo)*d+col:]
		var bias []float32
		if ab != nil {
			// The bias goes to its own buffer so that the softmax adds it
			// after scaling (softmax(scale·qk + bias), as timm).
			bias = w.bias[:rows*n]
			clear(bias)
			if err := ab.AddBias(bias, it.head, s.grid, e.PrefixN, lo, hi); err != nil {
				w.err = err
				return
			}
		}
		if fused {
			kernels.AttentionPacked(out, d, q, 3*d, rows, &w.kv, scale, bias, n)
		} else {
			AttendHead(out, d, q, 3*d, k, 3*d, v, 3*d, rows, n, hd, scale, bias, w.scores)
		}
	}
}

// rotate applies block b's rotary embedding to q and k of every image,
// each on its own grid, in the qkv matrix the row phase just made.
func (ws *workspace) rotate(b int) error {
	e := ws.m.enc
	r := e.rotary(b)
	if r == nil {
		return nil
	}
	ld := 3 * e.Dim
	for _, s := range ws.segs {
		if err := r.RotateQKV(ws.qkv[s.off*ld:(s.off+s.n)*ld], ld, s.grid, e.Heads, e.HeadDim(), e.PrefixN); err != nil {
			return fmt.Errorf("rotary embedding at grid %s: %w", s.grid, err)
		}
	}
	return nil
}

// checkBias tries every block's attention bias on one query row of every
// image before any attention runs, so that a bias that cannot serve a grid
// (or the prefix) is an error up front, and its per-grid tables are built
// here rather than by several workers at once.
func (ws *workspace) checkBias() error {
	e := ws.m.enc
	var last posenc.AttentionBias
	for b := range e.Blocks {
		ab := e.bias(b)
		if ab == nil || ab == last {
			continue
		}
		last = ab
		for _, s := range ws.segs {
			row := ws.work[0].bias[:s.n]
			if err := ab.AddBias(row, 0, s.grid, e.PrefixN, 0, 1); err != nil {
				return fmt.Errorf("attention bias of block %d at grid %s: %w", b, s.grid, err)
			}
		}
	}
	return nil
}

// attentionError returns (and clears) the first error a worker met in the
// attention phase; checkBias makes one unlikely.
func (ws *workspace) attentionError() error {
	var first error
	for i := range ws.work {
		if err := ws.work[i].err; err != nil && first == nil {
			first = fmt.Errorf("attention bias: %w", err)
		}
		ws.work[i].err = nil
	}
	return first
}

// attentionItems appends to dst the (segment, head, query tile) items of
// one attention phase: over every query row, or (kept) over the rows the
// last block keeps.
func (ws *workspace) attentionItems(dst []item, kept bool) []item {
	dst = dst[:0]
	heads := ws.m.enc.Heads
	for si, s := range ws.segs {
		rows := s.n
		if kept {
			rows = s.keep
		}
		// Short images: one item per query tile. Long ones (fused): one
		// packing of k and v per item, so an item takes as many tiles as
		// keeps every worker busy (about three items each).
		span := queryTile
		if s.n >= fusedFrom() {
			tiles := (s.n + queryTile - 1) / queryTile
			groups := min(tiles, max(1, (3*ws.m.Threads()+heads-1)/heads))
			span = (tiles + groups - 1) / groups * queryTile
		}
		for h := 0; h < heads; h++ {
			for lo := 0; lo < rows; lo += span {
				dst = append(dst, item{seg: si, head: h, lo: lo, hi: min(rows, lo+span)})
			}
		}
	}
	return dst
}
