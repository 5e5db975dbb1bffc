package twins

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// Work granularity: fixed tiles, so that no result depends on the number
// of workers (each kernel's result for a row depends on that row alone).
const (
	rowTile   = 64  // token rows per item of the row-local phases
	queryTile = 128 // query rows per attention item
)

type phase int

const (
	phaseEmbed     phase = iota // patch embedding + its norm, per row tile
	phaseNormQ                  // norm1, q (and kv when sr is 1), per row tile
	phaseReduce                 // spatial reduction + norm + kv, per reduced-row tile
	phaseAttention              // one head × one query tile
	phaseMLP                    // x += proj(attention); x += MLP(norm2(x)), per row tile
)

// scratch is one worker's private buffers.
type scratch struct {
	col, hid, scores []float32
}

// workspace holds every buffer of one forward pass; workspaces only grow,
// so once warm for a size a forward pass allocates nothing.
type workspace struct {
	m     *Model
	img   nn.Image
	grids [maxStages]posenc.Grid // tokens of each stage
	red   [maxStages]posenc.Grid // keys/values of each stage (spatially reduced)
	buf   [2][]float32           // the residual streams of even and odd stages
	ln    []float32
	q     []float32
	ao    []float32
	kvIn  []float32 // reduced tokens
	kv    []float32
	pad   []float32 // the PEG's zero-padded grid
	work  []scratch

	// the phase being run
	kind         phase
	stage, block int
	x, prev      []float32 // this stage's tokens, the previous stage's
	batch        nn.Batch
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

func tiles(n, t int) int { return (n + t - 1) / t }

// prepare checks the image, works out every stage's grid and sizes the
// buffers.
func (ws *workspace) prepare(img nn.Image) error {
	m := ws.m
	p0 := m.stages[0].patch
	if err := nn.CheckImage(img, m.cfg.InChans, [2]int{p0, p0}); err != nil {
		return err
	}
	g := m.grids(img.H, img.W, ws.grids[:0])
	if n := g[0].N(); n > m.maxTokens {
		return fmt.Errorf("%w: a %d×%d image gives %d first-stage tokens (grid %s), over the cap of %d (raise it with the MaxTokens option)",
			nn.ErrTooManyTokens, img.H, img.W, n, g[0], m.maxTokens)
	}
	var x, rows, red, kv, pad, col, hid, scores int
	prevC := m.cfg.InChans
	for s, st := range m.stages {
		r := posenc.Grid{H: g[s].H / st.sr, W: g[s].W / st.sr}
		if g[s].H < 1 || g[s].W < 1 || r.H < 1 || r.W < 1 {
			return fmt.Errorf("%w: a %d×%d image is too small for Twins: stage %d has a %s grid, and its keys need at least %d×%d",
				nn.ErrImage, img.H, img.W, s, g[s], st.sr, st.sr)
		}
		ws.red[s] = r
		n, c := g[s].N(), st.dim
		x, rows = max(x, n*c), max(rows, n)
		red = max(red, r.N()*c)
		kv = max(kv, r.N()*2*c)
		pad = max(pad, (g[s].H+2)*(g[s].W+2)*c)
		col = max(col, rowTile*prevC*st.patch*st.patch, rowTile*c*st.sr*st.sr)
		scores = max(scores, queryTile*r.N())
		for i := range st.blocks {
			hid = max(hid, rowTile*st.blocks[i].mlp.Scratch())
		}
		prevC = c
	}
	ws.img = img
	ws.buf[0], ws.buf[1] = grow(ws.buf[0], x), grow(ws.buf[1], x)
	ws.ln, ws.q, ws.ao = grow(ws.ln, x), grow(ws.q, x), grow(ws.ao, x)
	ws.kvIn, ws.kv, ws.pad = grow(ws.kvIn, red), grow(ws.kv, kv), grow(ws.pad, pad)
	for i := range ws.work {
		w := &ws.work[i]
		w.col, w.hid, w.scores = grow(w.col, col), grow(w.hid, hid), grow(w.scores, scores)
	}
	return nil
}

// forward runs the pyramid.
func (ws *workspace) forward() {
	m := ws.m
	for s := range m.stages {
		st := &m.stages[s]
		n, c := ws.grids[s].N(), st.dim
		ws.stage, ws.prev, ws.x = s, ws.x, ws.buf[s%2][:n*c]
		ws.run(phaseEmbed, tiles(n, rowTile))
		for j := range st.blocks {
			ws.block = j
			ws.run(phaseNormQ, tiles(n, rowTile))
			if st.sr > 1 {
				ws.run(phaseReduce, tiles(ws.red[s].N(), rowTile))
			}
			ws.run(phaseAttention, st.heads*tiles(n, queryTile))
			ws.run(phaseMLP, tiles(n, rowTile))
			if j == 0 {
				ws.peg(st, ws.grids[s])
			}
		}
	}
	m.norm.Rows(ws.x, ws.x)
}

// peg applies the stage's conditional position encoding: x += dwconv3×3(x)
// + bias over the zero-padded grid.
func (ws *workspace) peg(st *stage, g posenc.Grid) {
	c := st.dim
	stride := (g.W + 2) * c
	pad := ws.pad[:(g.H+2)*stride]
	clear(pad[:stride])
	clear(pad[(g.H+1)*stride:])
	for y := 0; y < g.H; y++ {
		row := pad[(y+1)*stride : (y+2)*stride]
		clear(row[:c])
		copy(row[c:], ws.x[y*g.W*c:(y+1)*g.W*c])
		clear(row[(g.W+1)*c:])
	}
	kernels.DWConv3x3(ws.x, pad, st.pegW, st.pegB, g.H, g.W, c, true)
}

func (ws *workspace) run(kind phase, items int) {
	ws.kind = kind
	ws.m.workers.Run(&ws.batch, ws, items)
}

// Do runs item i of the current phase (nn.Job).
func (ws *workspace) Do(worker, i int) {
	m := ws.m
	s := ws.stage
	st := &m.stages[s]
	g, c := ws.grids[s], st.dim
	n := g.N()
	w := &ws.work[worker]
	rows := func(buf []float32, lo, hi, width int) []float32 { return buf[lo*width : hi*width] }
	switch ws.kind {
	case phaseEmbed:
		lo, hi := i*rowTile, min(n, (i+1)*rowTile)
		p := st.patch
		var k int
		if s == 0 {
			k = ws.img.C * p * p
			nn.Im2Col(w.col, ws.img, g, [2]int{p, p}, lo, hi)
		} else {
			pc := m.stages[s-1].dim
			k = pc * p * p
			hwcPatches(w.col, ws.prev, ws.grids[s-1].W, pc, p, g.W, lo, hi)
		}
		x := rows(ws.x, lo, hi, c)
		kernels.GemmPacked(1, hi-lo, w.col, k, st.embed, x, c, kernels.Epilogue{Bias: st.embedB})
		st.embedNorm.Rows(x, x)
	case phaseNormQ:
		b := &st.blocks[ws.block]
		lo, hi := i*rowTile, min(n, (i+1)*rowTile)
		ln := rows(ws.ln, lo, hi, c)
		b.norm1.Rows(ln, rows(ws.x, lo, hi, c))
		b.q.Apply(1, hi-lo, ln, c, rows(ws.q, lo, hi, c), c, kernels.ActNone, nil)
		if st.sr == 1 {
			b.kv.Apply(1, hi-lo, ln, c, rows(ws.kv, lo, hi, 2*c), 2*c, kernels.ActNone, nil)
		}
	case phaseReduce:
		b := &st.blocks[ws.block]
		r := ws.red[s]
		lo, hi := i*rowTile, min(r.N(), (i+1)*rowTile)
		hwcPatches(w.col, ws.ln, g.W, c, st.sr, r.W, lo, hi)
		in := rows(ws.kvIn, lo, hi, c)
		kernels.GemmPacked(1, hi-lo, w.col, c*st.sr*st.sr, b.srConv, in, c, kernels.Epilogue{Bias: b.srB})
		b.srNorm.Rows(in, in)
		b.kv.Apply(1, hi-lo, in, c, rows(ws.kv, lo, hi, 2*c), 2*c, kernels.ActNone, nil)
	case phaseAttention:
		t := tiles(n, queryTile)
		h, lo := i/t, (i%t)*queryTile
		hi := min(n, lo+queryTile)
		hd := c / st.heads
		col := h * hd
		nk := ws.red[s].N()
		nn.AttendHead(ws.ao[lo*c+col:], c, ws.q[lo*c+col:], c, ws.kv[col:], 2*c, ws.kv[c+col:], 2*c,
			hi-lo, nk, hd, attentionScale(hd), nil, w.scores)
	case phaseMLP:
		b := &st.blocks[ws.block]
		lo, hi := i*rowTile, min(n, (i+1)*rowTile)
		x, ln := rows(ws.x, lo, hi, c), rows(ws.ln, lo, hi, c)
		b.proj.Apply(1, hi-lo, rows(ws.ao, lo, hi, c), c, x, c, kernels.ActNone, x)
		b.norm2.Rows(ln, x)
		b.mlp.Forward(1, hi-lo, ln, w.hid, x)
	}
}

// output copies the features out and applies the head: the mean of the
// last stage's tokens, then the classifier.
func (ws *workspace) output(out *nn.Output) {
	m := ws.m
	s := len(m.stages) - 1
	g, c := ws.grids[s], m.stages[s].dim
	out.Grid, out.Prefix = g, 0
	out.Tokens = grow(out.Tokens, g.N()*c)
	copy(out.Tokens, ws.x)
	out.Pooled = grow(out.Pooled, c)
	n := g.N()
	for j := 0; j < c; j++ {
		var sum float64
		for r := 0; r < n; r++ {
			sum += float64(ws.x[r*c+j])
		}
		out.Pooled[j] = float32(sum / float64(n))
	}
	if m.head == nil {
		out.Logits = out.Logits[:0]
		return
	}
	out.Logits = grow(out.Logits, m.head.Out)
	m.head.Apply(1, 1, out.Pooled, c, out.Logits, m.head.Out, kernels.ActNone, nil)
}
