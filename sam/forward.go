package sam

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// Work granularity: fixed tiles and spans, so that no result depends on the
// number of workers (each kernel's result for a row depends on that row
// alone).
const (
	rowTile    = 64   // token rows per item of the row-local phases
	globalSpan = 1024 // query rows per item of a global block (k and v packed once per item)
)

type phase int

const (
	phaseEmbed   phase = iota // patch embedding, per row tile
	phaseQKV                  // norm1 and qkv, per row tile
	phaseWindows              // a windowed block's attention: one window, every head
	phaseGlobal               // a global block's attention: one head × one span of queries
	phaseMLP                  // x += proj(attention); x += MLP(norm2(x)), per row tile
	phaseNeck1                // 1×1 conv + LayerNorm2d, per row tile
	phaseNeck2                // 3×3 conv (im2col + GEMM) + LayerNorm2d, per row tile
)

// scratch is one worker's private buffers.
type scratch struct {
	col, hid  []float32
	ln        []float32 // a row tile's normalised rows
	win, wout []float32 // one window's qkv rows and attention output
	attn      nn.GridScratch
	err       error
}

// workspace holds every buffer of one forward pass; buffers only grow, so
// once warm for a size a forward pass allocates nothing.
type workspace struct {
	m    *Model
	img  nn.Image
	g    posenc.Grid
	win  nn.Windows
	x    []float32 // the residual stream, n×dim
	qkv  []float32 // n×3·dim; after the blocks, the features (n×neck)
	ao   []float32 // attention output before the projection, n×dim; after the blocks, the neck's 1×1 conv (n×neck)
	work []scratch

	// the phase being run
	kind  phase
	block int
	batch nn.Batch
}

// neck and feat hold the neck's 1×1 convolution and the features, in
// buffers the blocks are done with.
func (ws *workspace) neck() []float32 { return ws.ao[:ws.g.N()*ws.m.cfg.NeckChans] }
func (ws *workspace) feat() []float32 { return ws.qkv[:ws.g.N()*ws.m.cfg.NeckChans] }

func tiles(n, t int) int { return (n + t - 1) / t }

// prepare checks the image, works out its grid and windows and sizes the
// buffers.
func (ws *workspace) prepare(img nn.Image) error {
	m := ws.m
	c := m.cfg
	if err := nn.CheckImage(img, c.InChans, [2]int{c.Patch, c.Patch}); err != nil {
		return err
	}
	g := m.Grid(img.H, img.W)
	n := g.N()
	if n > m.maxTokens {
		return fmt.Errorf("%w: a %d×%d image gives %d tokens (grid %s), over the cap of %d (raise it with the MaxTokens option)",
			nn.ErrTooManyTokens, img.H, img.W, n, g, m.maxTokens)
	}
	ws.img, ws.g = img, g
	area := 0
	if c.Window > 0 {
		win, err := nn.NewWindows(g, posenc.Grid{H: c.Window, W: c.Window})
		if err != nil {
			return err
		}
		ws.win, area = win, c.Window*c.Window
	}
	d, nc := c.Dim, c.NeckChans
	ws.x, ws.ao = nn.Grow(ws.x, n*d), nn.Grow(ws.ao, n*max(d, nc))
	ws.qkv = nn.Grow(ws.qkv, n*max(3*d, nc))
	col := rowTile * max(c.InChans*c.Patch*c.Patch, 9*nc)
	hid := rowTile * m.w.blocks[0].mlp.Scratch()
	for i := range ws.work {
		w := &ws.work[i]
		w.col, w.hid, w.ln = nn.Grow(w.col, col), nn.Grow(w.hid, hid), nn.Grow(w.ln, rowTile*d)
		w.win, w.wout = nn.Grow(w.win, area*3*d), nn.Grow(w.wout, area*d)
		for bi := range m.w.blocks {
			var qb posenc.QueryBias
			if rp := m.w.blocks[bi].relPos; rp != nil {
				qb = rp
			}
			low := m.w.blocks[bi].qkv.AttentionPrecision()
			if c.IsGlobal(bi) {
				w.attn.Reserve(g, globalSpan, c.HeadDim(), qb, low)
			} else {
				w.attn.Reserve(ws.win.Size, area, c.HeadDim(), qb, low)
			}
		}
	}
	return nil
}

// forward runs the encoder and the neck.
func (ws *workspace) forward() error {
	m := ws.m
	c := m.cfg
	n := ws.g.N()
	ws.run(phaseEmbed, tiles(n, rowTile))
	if m.w.pos != nil {
		if err := m.w.pos.AddTo(ws.x, 0, ws.g, c.Dim); err != nil {
			return fmt.Errorf("position table at grid %s: %w", ws.g, err)
		}
	}
	for b := range m.w.blocks {
		ws.block = b
		ws.run(phaseQKV, tiles(n, rowTile))
		if c.IsGlobal(b) {
			ws.run(phaseGlobal, c.Heads*tiles(n, globalSpan))
		} else {
			ws.run(phaseWindows, ws.win.Count())
		}
		if err := ws.attentionError(); err != nil {
			return fmt.Errorf("block %d at grid %s: %w", b, ws.g, err)
		}
		ws.run(phaseMLP, tiles(n, rowTile))
	}
	if m.w.neck1 != nil {
		ws.run(phaseNeck1, tiles(n, rowTile))
		ws.run(phaseNeck2, tiles(n, rowTile))
	}
	return nil
}

// attentionError returns (and clears) the first error a worker met.
func (ws *workspace) attentionError() error {
	var first error
	for i := range ws.work {
		if err := ws.work[i].err; err != nil && first == nil {
			first = err
		}
		ws.work[i].err = nil
	}
	return first
}

func (ws *workspace) run(kind phase, items int) {
	ws.kind = kind
	ws.m.run.Workers().Run(&ws.batch, ws, items)
}

// Do runs item i of the current phase (nn.Job).
func (ws *workspace) Do(worker, i int) {
	m := ws.m
	c := m.cfg
	g, d, nc := ws.g, c.Dim, c.NeckChans
	n := g.N()
	w := &ws.work[worker]
	rows := func(buf []float32, lo, hi, width int) []float32 { return buf[lo*width : hi*width] }
	lo, hi := i*rowTile, min(n, (i+1)*rowTile)
	switch ws.kind {
	case phaseEmbed:
		p := m.w.patch
		nn.Im2Col(w.col, ws.img, g, p.Size, lo, hi)
		kernels.GemmPacked(1, hi-lo, w.col, p.Channels*p.Size[0]*p.Size[1], p.Kernel, rows(ws.x, lo, hi, d), d, kernels.Epilogue{Bias: p.Bias})
	case phaseQKV:
		b := &m.w.blocks[ws.block]
		ln := w.ln[:(hi-lo)*d]
		b.norm1.Rows(ln, rows(ws.x, lo, hi, d))
		b.qkv.Apply(1, hi-lo, ln, d, rows(ws.qkv, lo, hi, 3*d), 3*d, kernels.ActNone, nil)
	case phaseWindows:
		w.err = ws.window(w, i)
	case phaseGlobal:
		b := &m.w.blocks[ws.block]
		spans := tiles(n, globalSpan)
		h, qlo := i/spans, (i%spans)*globalSpan
		col := h * c.HeadDim()
		var qb posenc.QueryBias
		if b.relPos != nil {
			qb = b.relPos
		}
		w.attn.KV = b.qkv.AttentionPrecision()
		if err := nn.AttendGrid(ws.ao[col:], d, ws.qkv[col:], 3*d, ws.qkv[d+col:], 3*d, ws.qkv[2*d+col:], 3*d,
			g, qlo, min(n, qlo+globalSpan), c.HeadDim(), attentionScale(c.HeadDim()), qb, &w.attn); err != nil {
			w.err = err
		}
	case phaseMLP:
		b := &m.w.blocks[ws.block]
		x, ln := rows(ws.x, lo, hi, d), w.ln[:(hi-lo)*d]
		b.proj.Apply(1, hi-lo, rows(ws.ao, lo, hi, d), d, x, d, kernels.ActNone, x)
		b.norm2.Rows(ln, x)
		b.mlp.Forward(1, hi-lo, ln, w.hid, x)
	case phaseNeck1:
		y := rows(ws.neck(), lo, hi, nc)
		kernels.GemmPacked(1, hi-lo, rows(ws.x, lo, hi, d), d, m.w.neck1, y, nc, kernels.Epilogue{})
		m.w.norm1.Rows(y, y)
	case phaseNeck2:
		y := rows(ws.feat(), lo, hi, nc)
		nn.Im2ColHWC(w.col, ws.neck(), g, nc, 3, 1, lo, hi)
		kernels.GemmPacked(1, hi-lo, w.col, 9*nc, m.w.neck2, y, nc, kernels.Epilogue{})
		m.w.norm2.Rows(y, y)
	}
}

// window runs a windowed block's attention on window wi: its qkv rows are
// gathered (rows of the zero padding are the qkv bias, what zeros become),
// every head attends within the window, and the rows on the grid go back.
func (ws *workspace) window(w *scratch, wi int) error {
	c := ws.m.cfg
	b := &ws.m.w.blocks[ws.block]
	d, hd := c.Dim, c.HeadDim()
	wg := ws.win.Size
	ws.win.Gather(w.win, 3*d, ws.qkv, 3*d, 3*d, wi, b.qkvBias)
	var qb posenc.QueryBias
	if b.relPos != nil {
		qb = b.relPos
	}
	w.attn.KV = b.qkv.AttentionPrecision()
	for h := 0; h < c.Heads; h++ {
		col := h * hd
		if err := nn.AttendGrid(w.wout[col:], d, w.win[col:], 3*d, w.win[d+col:], 3*d, w.win[2*d+col:], 3*d,
			wg, 0, wg.N(), hd, attentionScale(hd), qb, &w.attn); err != nil {
			return err
		}
	}
	ws.win.Scatter(ws.ao, d, w.wout, d, d, wi)
	return nil
}

// output copies the features out (the neck's, or the blocks' without a
// neck) and applies the head: the mean of the features (timm's avg pool),
// then the classifier.
func (ws *workspace) output(out *nn.Output) {
	m := ws.m
	c := m.cfg
	n, od := ws.g.N(), c.OutDim()
	src := ws.x
	if m.w.neck1 != nil {
		src = ws.feat()
	}
	out.Grid, out.Prefix = ws.g, 0
	out.Tokens = nn.Grow(out.Tokens, n*od)
	copy(out.Tokens, src[:n*od])
	out.Pooled = nn.Grow(out.Pooled, od)
	for j := 0; j < od; j++ {
		var sum float64
		for r := 0; r < n; r++ {
			sum += float64(src[r*od+j])
		}
		out.Pooled[j] = float32(sum / float64(n))
	}
	if m.w.head == nil {
		out.Logits = out.Logits[:0]
		return
	}
	out.Logits = nn.Grow(out.Logits, m.w.head.Out)
	m.w.head.Apply(1, 1, out.Pooled, od, out.Logits, m.w.head.Out, kernels.ActNone, nil)
}
