package nn

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
)

// forward runs the packed sequence through the network.
func (ws *workspace) forward() error {
	e := ws.m.enc
	d := e.Dim
	ws.embedItems()
	ws.items = ws.embed
	ws.run(phaseEmbed)
	for i := range ws.segs {
		s := &ws.segs[i]
		x := ws.x[s.off*d : (s.off+s.n)*d]
		copy(x, e.Prefix)
		if err := e.Pos.AddTo(x, e.PrefixN, s.grid, d); err != nil {
			return fmt.Errorf("position embedding at grid %s: %w", s.grid, err)
		}
	}
	if err := ws.checkBias(); err != nil {
		return err
	}
	ws.attn = ws.attentionItems(ws.attn, false)
	last, trimmed := ws.attn, ws.trimmed()
	if trimmed {
		ws.attnKept = ws.attentionItems(ws.attnKept, true)
		last = ws.attnKept
	}
	depth := len(e.Blocks)
	for b := -1; b < depth; b++ {
		if b >= 0 {
			ws.block = b
			ws.items = ws.attn
			if b == depth-1 {
				ws.items = last
			}
			ws.run(phaseAttention)
			if err := ws.attentionError(); err != nil {
				return err
			}
		}
		ws.block = b
		if b == depth-1 && trimmed {
			ws.gather()
		}
		ws.run(phaseRows)
		if b+1 < depth {
			if err := ws.rotate(b + 1); err != nil {
				return err
			}
		}
	}
	return nil
}

// rowsItem runs everything between two attentions for token rows [lo, hi):
// it folds block ws.block's attention output into the residual stream and
// runs that block's MLP, then normalises the rows and projects them to
// q, k, v for the next block (or applies the final norm after the last).
// Every step is row-local, so row tiles need no synchronisation; the GEMMs
// carry bias, activation and residual in their epilogues.
func (ws *workspace) rowsItem(worker, lo, hi int) {
	e := ws.m.enc
	d := e.Dim
	n := hi - lo
	s := &ws.work[worker]
	x := ws.x[lo*d : hi*d]
	ln := s.ln[:n*d]
	if b := ws.block; b >= 0 {
		w := &e.Blocks[b]
		// x += proj(attention) + bias: a residual that is the output itself
		// makes the GEMM accumulate onto it.
		ao := ws.ao[lo*d : hi*d]
		if w.AttnNorm != nil {
			w.AttnNorm.Rows(ao, ao)
		}
		w.Proj.Apply(ws.rowT, n, ao, d, x, d, kernels.ActNone, x)
		w.Norm2.Rows(ln, x)
		w.MLP.Forward(ws.rowT, n, ln, s.hid, x)
	} else if e.PreNorm != nil {
		e.PreNorm.Rows(x, x)
	}
	if next := ws.block + 1; next < len(e.Blocks) {
		w := &e.Blocks[next]
		w.Norm1.Rows(ln, x)
		w.QKV.Apply(ws.rowT, n, ln, d, ws.qkv[lo*3*d:hi*3*d], 3*d, kernels.ActNone, nil)
	} else if e.Norm != nil {
		e.Norm.Rows(x, x)
	}
}

// gather moves the rows the last block keeps (each segment's first keep
// rows of the residual stream and of the attention output) to the front,
// segment after segment, and cuts the last row phase over them alone.
// Rows move only towards the front, so copy's overlap rule suffices.
func (ws *workspace) gather() {
	d := ws.m.enc.Dim
	at := 0
	for i := range ws.segs {
		s := &ws.segs[i]
		if at != s.off {
			copy(ws.x[at*d:(at+s.keep)*d], ws.x[s.off*d:(s.off+s.keep)*d])
			copy(ws.ao[at*d:(at+s.keep)*d], ws.ao[s.off*d:(s.off+s.keep)*d])
		}
		s.at = at
		at += s.keep
	}
	ws.tileRows(at)
}

// embedItem embeds patches [it.lo, it.hi) of segment it.seg.
func (ws *workspace) embedItem(worker int, it item) {
	e := ws.m.enc
	s := &ws.segs[it.seg]
	d := e.Dim
	first := s.off + e.PrefixN + it.lo
	x := ws.x[first*d : (first+it.hi-it.lo)*d]
	col := ws.work[worker].col
	p := &e.Patch
	k := p.Channels * p.Size[0] * p.Size[1]
	Im2Col(col, s.img, s.grid, p.Size, it.lo, it.hi)
	kernels.GemmPacked(1, it.hi-it.lo, col, k, p.Kernel, x, d, kernels.Epilogue{Bias: p.Bias})
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

// outputs copies features out and applies pooling and the head.
func (ws *workspace) outputs(outs []Output) {
	e := ws.m.enc
	d := e.Dim
	for i, s := range ws.segs {
		o := &outs[i]
		o.Grid, o.Prefix = s.grid, e.PrefixN
		// The head runs on this goroutine: its GEMMs are a few rows, and
		// kernels' parallel GEMM starts goroutines (allocations) per call.
		if o.HeadOnly {
			o.Tokens = o.Tokens[:0]
			e.Head.forward(1, ws.x[s.at*d:(s.at+s.keep)*d], s.keep, e.PrefixN, d, ws.head, o)
			continue
		}
		o.Tokens = Grow(o.Tokens, s.n*d)
		copy(o.Tokens, ws.x[s.at*d:(s.at+s.n)*d])
		e.Head.forward(1, o.Tokens, s.n, e.PrefixN, d, ws.head, o)
	}
}
