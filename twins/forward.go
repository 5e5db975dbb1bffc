package twins

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// Work granularity: fixed tiles within each image, so that no result
// depends on the number of workers or on the other images of a batch
// (each kernel's result for a row depends on that row alone).
const (
	rowTile   = 64  // token rows per item of the row-local phases
	queryTile = 128 // query rows per attention item (windows: about as many rows)
)

type phase int

const (
	phaseEmbed      phase = iota // patch embedding + its norm, per row tile
	phaseNormQ                   // norm1, q (and kv when sr is 1), per row tile
	phaseReduce                  // spatial reduction + norm + kv, per reduced-row tile
	phaseAttention               // one head × one query tile
	phaseWindowQKV               // local: norm1 + qkv, per tile of window rows
	phaseWindowAttn              // local: one head × a few windows
	phaseMLP                     // x += proj(attention); x += MLP(norm2(x)), per row tile
)

// unit is what a phase's tiles count in a segment.
type unit int

const (
	unitTokens     unit = iota // the stage's tokens
	unitReduced                // its spatially reduced keys
	unitWindowRows             // the rows of its window matrix
	unitWindows                // its windows
)

// segment is one image of a packed batch: its grids at every stage and,
// at the stage being run, where its rows lie in the packed buffers.
type segment struct {
	img   nn.Image
	grids [maxStages]posenc.Grid      // tokens of each stage
	red   [maxStages]posenc.Grid      // keys/values of each stage (spatially reduced)
	win   [maxStages]nn.PaddedWindows // local attention's windows of each stage
	// first rows at the stage being run: tokens, the previous stage's
	// tokens, keys/values, window rows
	off, prevOff, koff, woff int
}

// item is one unit of parallel work: rows (or windows) [lo, hi) of a
// segment, and for attention a head.
type item struct{ seg, head, lo, hi int }

// scratch is one worker's private buffers.
type scratch struct {
	col, hid, scores, a, wo []float32
}

// workspace holds every buffer of one forward pass over a packed batch;
// workspaces only grow, so once warm for a batch of sizes a forward pass
// allocates nothing.
type workspace struct {
	m    *Model
	segs []segment
	buf  [2][]float32 // the residual streams of even and odd stages
	ln   []float32
	q    []float32
	ao   []float32
	kvIn []float32 // reduced tokens
	kv   []float32
	qkv  []float32 // local attention: window rows × 3·dim
	pad  []float32 // the PEG's zero-padded grid
	head []float32 // the head's scratch
	work []scratch

	// the phase being run
	kind         phase
	stage, block int
	x, prev      []float32 // this stage's tokens, the previous stage's
	items        []item
	batch        nn.Batch
}

func tiles(n, t int) int { return (n + t - 1) / t }

// prepare checks the images, works out every stage's grids and sizes the
// buffers for all of them packed; errors name the image (its index in the
// batch, imgs[0] being image first) when named is set.
func (ws *workspace) prepare(imgs []nn.Image, first int, named bool) error {
	m := ws.m
	p0 := m.stages[0].patch
	if cap(ws.segs) < len(imgs) {
		ws.segs = make([]segment, len(imgs))
	}
	ws.segs = ws.segs[:len(imgs)]
	var x, red, kv, qkv, pad, col, hid, scores, a, wo int
	for i, img := range imgs {
		if err := ws.prepareOne(&ws.segs[i], img, p0); err != nil {
			if named {
				return fmt.Errorf("image %d: %w", first+i, err)
			}
			return err
		}
	}
	prevC := m.cfg.InChans
	for s, st := range m.stages {
		c := st.dim
		var xs, reds, kvs, qkvs int
		for i := range ws.segs {
			sg := &ws.segs[i]
			g := sg.grids[s]
			xs += g.N() * c
			if st.sr > 1 {
				reds += sg.red[s].N() * c
				kvs += sg.red[s].N() * 2 * c
			} else {
				kvs += g.N() * 2 * c
			}
			if st.local {
				qkvs += sg.win[s].Rows() * 3 * c
				nt := sg.win[s].Area()
				scores = max(scores, nt*nt)
				wo = max(wo, nt*(c/st.heads))
			}
			pad = max(pad, (g.H+2)*(g.W+2)*c)
			if st.sr > 1 {
				scores = max(scores, queryTile*sg.red[s].N())
			} else {
				scores = max(scores, queryTile*g.N())
			}
		}
		x, red, kv, qkv = max(x, xs), max(red, reds), max(kv, kvs), max(qkv, qkvs)
		col = max(col, rowTile*prevC*st.patch*st.patch, rowTile*c*st.sr*st.sr)
		a = max(a, rowTile*c)
		for i := range st.blocks {
			hid = max(hid, rowTile*st.blocks[i].mlp.Scratch())
		}
		prevC = c
	}
	ws.buf[0], ws.buf[1] = nn.Grow(ws.buf[0], x), nn.Grow(ws.buf[1], x)
	ws.ln, ws.q, ws.ao = nn.Grow(ws.ln, x), nn.Grow(ws.q, x), nn.Grow(ws.ao, x)
	ws.kvIn, ws.kv, ws.qkv, ws.pad = nn.Grow(ws.kvIn, red), nn.Grow(ws.kv, kv), nn.Grow(ws.qkv, qkv), nn.Grow(ws.pad, pad)
	for i := range ws.work {
		w := &ws.work[i]
		w.col, w.hid, w.scores = nn.Grow(w.col, col), nn.Grow(w.hid, hid), nn.Grow(w.scores, scores)
		w.a, w.wo = nn.Grow(w.a, a), nn.Grow(w.wo, wo)
	}
	return nil
}

// prepareOne checks one image and works out its grids.
func (ws *workspace) prepareOne(sg *segment, img nn.Image, p0 int) error {
	m := ws.m
	if err := nn.CheckImage(img, m.cfg.InChans, [2]int{p0, p0}); err != nil {
		return err
	}
	g := m.grids(img.H, img.W, sg.grids[:0])
	if n := g[0].N(); n > m.maxTokens {
		return fmt.Errorf("%w: a %d×%d image gives %d first-stage tokens (grid %s), over the cap of %d (raise it with the MaxTokens option)",
			nn.ErrTooManyTokens, img.H, img.W, n, g[0], m.maxTokens)
	}
	sg.img = img
	for s, st := range m.stages {
		r := posenc.Grid{H: g[s].H / st.sr, W: g[s].W / st.sr}
		if g[s].H < 1 || g[s].W < 1 || (st.global && (r.H < 1 || r.W < 1)) {
			return fmt.Errorf("%w: a %d×%d image is too small for Twins: stage %d has a %s grid, and its keys need at least %d×%d",
				nn.ErrImage, img.H, img.W, s, g[s], st.sr, st.sr)
		}
		sg.red[s] = r
		if st.local {
			sg.win[s] = nn.NewPaddedWindows(g[s], [2]int{st.ws, st.ws})
		}
	}
	return nil
}

// forward runs the pyramid over every segment.
func (ws *workspace) forward() {
	m := ws.m
	var rows int
	for s := range m.stages {
		st := &m.stages[s]
		rows = ws.place(s)
		ws.stage, ws.block, ws.prev, ws.x = s, 0, ws.x, ws.buf[s%2][:rows*st.dim]
		ws.run(phaseEmbed, rowTile, unitTokens, 1)
		for j := range st.blocks {
			ws.block = j
			if st.blocks[j].local {
				ws.run(phaseWindowQKV, rowTile, unitWindowRows, 1)
				ws.run(phaseWindowAttn, windowsPerItem(st.ws), unitWindows, st.heads)
			} else {
				ws.run(phaseNormQ, rowTile, unitTokens, 1)
				if st.sr > 1 {
					ws.run(phaseReduce, rowTile, unitReduced, 1)
				}
				ws.run(phaseAttention, queryTile, unitTokens, st.heads)
			}
			ws.run(phaseMLP, rowTile, unitTokens, 1)
			if j == 0 {
				for i := range ws.segs {
					sg := &ws.segs[i]
					ws.peg(st, sg.grids[s], ws.x[sg.off*st.dim:])
				}
			}
		}
	}
	m.norm.Rows(ws.x, ws.x)
	for i := range ws.segs {
		ws.segs[i].img = nn.Image{} // the caller's pixels are not ours to keep
	}
}

// windowsPerItem groups small windows so that an attention item has about
// queryTile query rows.
func windowsPerItem(ws int) int { return max(1, queryTile/(ws*ws)) }

// place lays the segments out in the packed buffers for stage s and
// returns the number of token rows.
func (ws *workspace) place(s int) int {
	st := &ws.m.stages[s]
	var off, koff, woff int
	for i := range ws.segs {
		sg := &ws.segs[i]
		sg.prevOff, sg.off, sg.koff, sg.woff = sg.off, off, koff, woff
		n := sg.grids[s].N()
		off += n
		if st.sr > 1 {
			koff += sg.red[s].N()
		} else {
			koff += n
		}
		if st.local {
			woff += sg.win[s].Rows()
		}
	}
	return off
}

// peg applies the stage's conditional position encoding to one image's
// tokens x: x += dwconv3×3(x) + bias over the zero-padded grid.
func (ws *workspace) peg(st *stage, g posenc.Grid, x []float32) {
	c := st.dim
	stride := (g.W + 2) * c
	pad := ws.pad[:(g.H+2)*stride]
	clear(pad[:stride])
	clear(pad[(g.H+1)*stride:])
	for y := 0; y < g.H; y++ {
		row := pad[(y+1)*stride : (y+2)*stride]
		clear(row[:c])
		copy(row[c:], x[y*g.W*c:(y+1)*g.W*c])
		clear(row[(g.W+1)*c:])
	}
	kernels.DWConv3x3(x[:g.N()*c], pad, st.pegW, st.pegB, g.H, g.W, c, true)
}

// count is how many of u segment sg has at the stage being run.
func (ws *workspace) count(sg *segment, u unit) int {
	s := ws.stage
	switch u {
	case unitReduced:
		return sg.red[s].N()
	case unitWindowRows:
		return sg.win[s].Rows()
	case unitWindows:
		return sg.win[s].Count()
	}
	return sg.grids[s].N()
}

// run does one phase: for every segment, heads × tiles of tile units.
func (ws *workspace) run(kind phase, tile int, u unit, heads int) {
	ws.kind = kind
	ws.items = ws.items[:0]
	for i := range ws.segs {
		n := ws.count(&ws.segs[i], u)
		for h := 0; h < heads; h++ {
			for lo := 0; lo < n; lo += tile {
				ws.items = append(ws.items, item{seg: i, head: h, lo: lo, hi: min(n, lo+tile)})
			}
		}
	}
	ws.m.run.Workers().Run(&ws.batch, ws, len(ws.items))
}

// Do runs item i of the current phase (nn.Job).
func (ws *workspace) Do(worker, i int) {
	m := ws.m
	s := ws.stage
	st := &m.stages[s]
	it := ws.items[i]
	sg := &ws.segs[it.seg]
	g, c := sg.grids[s], st.dim
	w := &ws.work[worker]
	lo, hi := it.lo, it.hi
	rows := func(buf []float32, at, width int) []float32 { return buf[(at+lo)*width : (at+hi)*width] }
	b := &st.blocks[ws.block]
	switch ws.kind {
	case phaseEmbed:
		p := st.patch
		var k int
		if s == 0 {
			k = sg.img.C * p * p
			nn.Im2Col(w.col, sg.img, g, [2]int{p, p}, lo, hi)
		} else {
			pc := m.stages[s-1].dim
			k = pc * p * p
			hwcPatches(w.col, ws.prev[sg.prevOff*pc:], sg.grids[s-1].W, pc, p, g.W, lo, hi)
		}
		x := rows(ws.x, sg.off, c)
		kernels.GemmPacked(1, hi-lo, w.col, k, st.embed, x, c, kernels.Epilogue{Bias: st.embedB})
		st.embedNorm.Rows(x, x)
	case phaseNormQ:
		ln := rows(ws.ln, sg.off, c)
		b.norm1.Rows(ln, rows(ws.x, sg.off, c))
		b.q.Apply(1, hi-lo, ln, c, rows(ws.q, sg.off, c), c, kernels.ActNone, nil)
		if st.sr == 1 {
			b.kv.Apply(1, hi-lo, ln, c, rows(ws.kv, sg.koff, 2*c), 2*c, kernels.ActNone, nil)
		}
	case phaseReduce:
		r := sg.red[s]
		hwcPatches(w.col, ws.ln[sg.off*c:], g.W, c, st.sr, r.W, lo, hi)
		in := rows(ws.kvIn, sg.koff, c)
		kernels.GemmPacked(1, hi-lo, w.col, c*st.sr*st.sr, b.srConv, in, c, kernels.Epilogue{Bias: b.srB})
		b.srNorm.Rows(in, in)
		b.kv.Apply(1, hi-lo, in, c, rows(ws.kv, sg.koff, 2*c), 2*c, kernels.ActNone, nil)
	case phaseAttention:
		hd := c / st.heads
		col := it.head * hd
		nk := sg.red[s].N()
		if st.sr == 1 {
			nk = g.N()
		}
		kv := ws.kv[sg.koff*2*c:]
		nn.AttendRows(ws.ao[(sg.off+lo)*c+col:], c, ws.q[(sg.off+lo)*c+col:], c, kv[col:], 2*c, kv[c+col:], 2*c,
			hi-lo, nk, hd, attentionScale(hd), nil, w.scores)
	case phaseWindowQKV:
		ws.windowQKV(w, sg, b, lo, hi)
	case phaseWindowAttn:
		ws.windowAttention(w, sg, it)
	case phaseMLP:
		x, ln := rows(ws.x, sg.off, c), rows(ws.ln, sg.off, c)
		b.proj.Apply(1, hi-lo, rows(ws.ao, sg.off, c), c, x, c, kernels.ActNone, x)
		b.norm2.Rows(ln, x)
		b.mlp.Forward(1, hi-lo, ln, w.hid, x)
	}
}

// windowQKV normalises the tokens of window rows [lo, hi) of a segment
// (padding rows are zeros, as F.pad leaves them after norm1, or norm1.Zero
// where qkv took norm1's affine part) and projects
// them to q, k, v: a padding row's are qkv's bias, as in timm.
func (ws *workspace) windowQKV(w *scratch, sg *segment, b *block, lo, hi int) {
	c := ws.m.stages[ws.stage].dim
	win := sg.win[ws.stage]
	a := w.a[:(hi-lo)*c]
	for r := lo; r < hi; r++ {
		dst := a[(r-lo)*c : (r-lo+1)*c]
		switch t := win.Token(r); {
		case t < 0 && b.norm1.Zero != nil:
			copy(dst, b.norm1.Zero) // a zero row to the unfolded qkv
		case t < 0:
			clear(dst)
		default:
			b.norm1.Row(dst, ws.x[(sg.off+t)*c:(sg.off+t+1)*c])
		}
	}
	b.qkv.Apply(1, hi-lo, a, c, ws.qkv[(sg.woff+lo)*3*c:(sg.woff+hi)*3*c], 3*c, kernels.ActNone, nil)
}

// windowAttention runs one head's attention within windows [lo, hi) of a
// segment, padding rows included as keys, and writes the rows of grid
// tokens back to their places in the attention output (timm crops the
// padding before the projection).
func (ws *workspace) windowAttention(w *scratch, sg *segment, it item) {
	st := &ws.m.stages[ws.stage]
	c := st.dim
	hd := c / st.heads
	col := it.head * hd
	win := sg.win[ws.stage]
	nt := win.Area()
	out := w.wo[:nt*hd]
	for wi := it.lo; wi < it.hi; wi++ {
		qkv := ws.qkv[(sg.woff+wi*nt)*3*c:]
		nn.AttendRows(out, hd, qkv[col:], 3*c, qkv[c+col:], 3*c, qkv[2*c+col:], 3*c, nt, nt, hd, attentionScale(hd), nil, w.scores)
		for t := 0; t < nt; t++ {
			if tok := win.Token(wi*nt + t); tok >= 0 {
				at := (sg.off+tok)*c + col
				copy(ws.ao[at:at+hd], out[t*hd:(t+1)*hd])
			}
		}
	}
}

// output copies one segment's features out and applies the head: the
// mean of the last stage's tokens, then the classifier.
func (ws *workspace) output(sg *segment, out *nn.Output) {
	m := ws.m
	s := len(m.stages) - 1
	g, c := sg.grids[s], m.stages[s].dim
	n := g.N()
	x := ws.x[sg.off*c : (sg.off+n)*c]
	out.Grid, out.Prefix = g, 0
	out.Tokens = nn.Grow(out.Tokens, n*c)
	copy(out.Tokens, x)
	ws.head = nn.Grow(ws.head, m.head.Scratch(n, c))
	m.head.Apply(x, n, 0, c, ws.head, out)
}
