package hiera

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// Work granularity: fixed tiles within each image, so that no result
// depends on the number of workers or on the other images of a batch.
const (
	rowTile   = 64  // token rows per item of the row-local phases
	queryTile = 128 // query rows per attention item
)

type phase int

const (
	phaseEmbed     phase = iota // patch convolution + position, per row tile (unrolled order)
	phaseNormQKV                // norm1, qkv (and the widening projection), per row tile
	phasePool                   // the widened residual, max-pooled (or max and mean), per pooled row tile
	phaseAttention              // one head × one mask unit (or the whole image) × a query tile
	phaseMLP                    // x += proj(attention); x += MLP(norm2(x)), per row tile
)

// segment is one image of a packed batch.
type segment struct {
	img  nn.Image
	grid posenc.Grid // the patch embedding's token grid
	pos  []float32   // the position of every grid token (posenc.AbsWin, shared, read-only)
	// the pixels the model sees: all, or the top-left crop (beyond the
	// image, pad pixels are zeros)
	visible [2]int
	// at the block being run: tokens in and out, and their first rows
	nIn, nOut, off, offOut int
}

// item is one unit of parallel work: rows [lo, hi) of a segment, and for
// attention a head and a mask unit.
type item struct{ seg, head, unit, lo, hi int }

// scratch is one worker's private buffers.
type scratch struct {
	col, hid, scores []float32
	q, k, v, o       []float32 // one head of one mask unit, rows contiguous
}

// workspace holds every buffer of one forward pass over a packed batch;
// workspaces only grow, so once warm a forward pass allocates nothing.
type workspace struct {
	m    *Model
	segs []segment
	buf  [2][]float32 // the residual stream before and after a pooling block
	ln   []float32
	qkv  []float32
	y    []float32 // the widening projection
	ao   []float32
	work []scratch

	kind  phase
	block int
	x, x2 []float32 // the residual stream in and out of the block
	items []item
	batch nn.Batch
}

// prepare checks the images and sizes the buffers for all of them packed;
// errors name the image (its index in the batch, imgs[0] being image
// first) when named is set.
func (ws *workspace) prepare(imgs []nn.Image, first int, named bool) error {
	m := ws.m
	if cap(ws.segs) < len(imgs) {
		ws.segs = make([]segment, len(imgs))
	}
	ws.segs = ws.segs[:len(imgs)]
	n0 := 0
	for i, img := range imgs {
		if err := ws.prepareOne(&ws.segs[i], img); err != nil {
			if named {
				return fmt.Errorf("image %d: %w", first+i, err)
			}
			return err
		}
		n0 += ws.segs[i].grid.N()
	}
	var x, ln, qkv, y, ao, col, hid, scores, q, kv int
	c := m.cfg
	col = rowTile * c.InChans * c.PatchKernel[0] * c.PatchKernel[1]
	n := n0
	for _, b := range m.net.blocks {
		nOut := n / b.qStride
		x = max(x, n*b.dimIn, nOut*b.dim)
		ln = max(ln, n*b.dimIn, nOut*b.dim)
		qkv = max(qkv, n*3*b.dim)
		if b.expand != nil {
			y = max(y, n*b.dim)
		}
		ao = max(ao, nOut*b.dim)
		hid = max(hid, rowTile*b.mlp.Scratch())
		n = nOut
	}
	// the keys of an attention: a mask unit's tokens, or every token of an
	// image at a global block
	for i := range ws.segs {
		nIn := ws.segs[i].grid.N()
		for _, b := range m.net.blocks {
			keys := b.qStride * b.window
			if !b.unit {
				keys = nIn
			}
			scores = max(scores, min(queryTile, nIn/b.qStride)*keys)
			q = max(q, min(queryTile, nIn/b.qStride)*(b.dim/b.heads))
			kv = max(kv, keys*(b.dim/b.heads))
			nIn /= b.qStride
		}
	}
	ws.buf[0], ws.buf[1] = nn.Grow(ws.buf[0], x), nn.Grow(ws.buf[1], x)
	ws.ln, ws.qkv, ws.y, ws.ao = nn.Grow(ws.ln, ln), nn.Grow(ws.qkv, qkv), nn.Grow(ws.y, y), nn.Grow(ws.ao, ao)
	for i := range ws.work {
		w := &ws.work[i]
		w.col, w.hid, w.scores = nn.Grow(w.col, col), nn.Grow(w.hid, hid), nn.Grow(w.scores, scores)
		w.q, w.o, w.k, w.v = nn.Grow(w.q, q), nn.Grow(w.o, q), nn.Grow(w.k, kv), nn.Grow(w.v, kv)
	}
	return nil
}

// prepareOne checks one image and works out its grid and position table.
func (ws *workspace) prepareOne(sg *segment, img nn.Image) error {
	m := ws.m
	if err := nn.CheckImage(img, m.cfg.InChans, [2]int{1, 1}); err != nil {
		return err
	}
	size, ok := m.runSize(img.H, img.W)
	if !ok {
		a := m.cfg.PixelAlign()
		return fmt.Errorf("%w: a %d×%d image: Hiera takes images in multiples of %d×%d pixels, as its mask units and q-poolings tile the token grid (crop or pad with the edge policy)",
			nn.ErrImage, img.H, img.W, a[0], a[1])
	}
	g := m.tokenGrid(img.H, img.W)
	if g.N() > m.maxTokens {
		return fmt.Errorf("%w: a %d×%d image gives %d tokens (grid %s), over the cap of %d (raise it with the MaxTokens option)",
			nn.ErrTooManyTokens, img.H, img.W, g.N(), g, m.maxTokens)
	}
	pos, err := m.net.pos.Shared(g)
	if err != nil {
		return fmt.Errorf("%w: position table for a %s grid: %v", nn.ErrImage, g, err)
	}
	*sg = segment{img: img, grid: g, pos: pos, visible: [2]int{min(size[0], img.H), min(size[1], img.W)}}
	return nil
}

// forward runs the blocks over every segment.
func (ws *workspace) forward() {
	m := ws.m
	nt := ws.place(-1)
	ws.x = ws.buf[0][:nt*m.cfg.EmbedDim]
	ws.run(phaseEmbed, rowTile, 1, false)
	for j := range m.net.blocks {
		b := &m.net.blocks[j]
		ws.block = j
		nOut := ws.place(j)
		ws.x2 = ws.x
		if b.pool {
			other := ws.buf[0]
			if &ws.x[0] == &ws.buf[0][0] {
				other = ws.buf[1]
			}
			ws.x2 = other[:nOut*b.dim]
		}
		ws.run(phaseNormQKV, rowTile, 1, false)
		if b.pool {
			ws.run(phasePool, rowTile, 1, true)
		}
		ws.run(phaseAttention, queryTile, b.heads, true)
		ws.run(phaseMLP, rowTile, 1, true)
		ws.x = ws.x2
	}
	for i := range ws.segs {
		ws.segs[i].img = nn.Image{} // the caller's pixels are not ours to keep
	}
}

// place lays the segments out for block j (-1: the embedding) and returns
// the rows out of it.
func (ws *workspace) place(j int) int {
	var off, offOut int
	for i := range ws.segs {
		sg := &ws.segs[i]
		if j < 0 {
			sg.nIn, sg.nOut = sg.grid.N(), sg.grid.N()
		} else {
			sg.nIn, sg.nOut = sg.nOut, sg.nOut/ws.m.net.blocks[j].qStride
		}
		sg.off, sg.offOut = off, offOut
		off, offOut = off+sg.nIn, offOut+sg.nOut
	}
	return offOut
}

// run does one phase: for every segment, heads × (mask units) × tiles of
// its rows in (or out of) the block.
func (ws *workspace) run(kind phase, tile, heads int, out bool) {
	ws.kind = kind
	ws.items = ws.items[:0]
	for i := range ws.segs {
		sg := &ws.segs[i]
		n, units := sg.nIn, 1
		if out {
			n = sg.nOut
		}
		if kind == phaseAttention {
			units = ws.units(sg)
			n = sg.nOut / units
		}
		for h := 0; h < heads; h++ {
			for u := 0; u < units; u++ {
				for lo := 0; lo < n; lo += tile {
					ws.items = append(ws.items, item{seg: i, head: h, unit: u, lo: lo, hi: min(n, lo+tile)})
				}
			}
		}
	}
	ws.m.run.Workers().Run(&ws.batch, ws, len(ws.items))
}

// units is the number of mask units (attention windows) of a segment at
// the block being run: timm's N // (q_stride · window_size), or 1 for
// global attention.
func (ws *workspace) units(sg *segment) int {
	b := &ws.m.net.blocks[ws.block]
	if !b.unit {
		return 1
	}
	return sg.nIn / (b.qStride * b.window)
}

// Do runs item i of the current phase (nn.Job).
func (ws *workspace) Do(worker, i int) {
	it := ws.items[i]
	sg := &ws.segs[it.seg]
	w := &ws.work[worker]
	switch ws.kind {
	case phaseEmbed:
		ws.embed(w, sg, it.lo, it.hi)
		return
	}
	b := &ws.m.net.blocks[ws.block]
	lo, hi := it.lo, it.hi
	switch ws.kind {
	case phaseNormQKV:
		x := ws.x[(sg.off+lo)*b.dimIn : (sg.off+hi)*b.dimIn]
		ln := ws.ln[(sg.off+lo)*b.dimIn : (sg.off+hi)*b.dimIn]
		b.norm1.Rows(ln, x)
		b.qkv.Apply(1, hi-lo, ln, b.dimIn, ws.qkv[(sg.off+lo)*3*b.dim:(sg.off+hi)*3*b.dim], 3*b.dim, kernels.ActNone, nil)
		if b.expand != nil {
			b.expand.Apply(1, hi-lo, ln, b.dimIn, ws.y[(sg.off+lo)*b.dim:(sg.off+hi)*b.dim], b.dim, kernels.ActNone, nil)
		}
	case phasePool:
		ws.poolResidual(sg, b, lo, hi)
	case phaseAttention:
		ws.attend(w, sg, b, it)
	case phaseMLP:
		d := b.dim
		x, ln := ws.x2[(sg.offOut+lo)*d:(sg.offOut+hi)*d], ws.ln[(sg.offOut+lo)*d:(sg.offOut+hi)*d]
		b.proj.Apply(1, hi-lo, ws.ao[(sg.offOut+lo)*d:(sg.offOut+hi)*d], d, x, d, kernels.ActNone, x)
		b.norm2.Rows(ln, x)
		b.mlp.Forward(1, hi-lo, ln, w.hid, x)
	}
}

// spatial is the token-grid position of unrolled token u of a grid g:
// timm's Unroll moves the q_stride offsets of each of Unrolls() halvings
// to the front, the first halving's outermost.
func (ws *workspace) spatial(u int, g posenc.Grid) (y, x int) {
	c := ws.m.cfg
	s := ws.m.shrink()
	fy, fx := g.H/s[0], g.W/s[1]
	rest := u % (fy * fx)
	u /= fy * fx
	y, x = rest/fx*s[0], rest%fx*s[1]
	my, mx := s[0], s[1]
	for k := c.Unrolls(); k >= 1; k-- {
		my, mx = my/c.QStride[0], mx/c.QStride[1]
		x += u % c.QStride[1] * mx
		u /= c.QStride[1]
		y += u % c.QStride[0] * my
		u /= c.QStride[0]
	}
	return y, x
}

// embed runs the patch convolution for unrolled rows [lo, hi) and adds
// the position of each row's grid token.
func (ws *workspace) embed(w *scratch, sg *segment, lo, hi int) {
	c := ws.m.cfg
	n := ws.m.net
	d := c.EmbedDim
	k := c.InChans * c.PatchKernel[0] * c.PatchKernel[1]
	for u := lo; u < hi; u++ {
		y, x := ws.spatial(u, sg.grid)
		nn.ConvPatch(w.col[(u-lo)*k:(u-lo+1)*k], sg.img, sg.visible, c.PatchKernel, c.PatchStride, c.PatchPad, y, x)
	}
	out := ws.x[(sg.off+lo)*d : (sg.off+hi)*d]
	kernels.GemmPacked(1, hi-lo, w.col, k, n.embed, out, d, kernels.Epilogue{Bias: n.embedB})
	for u := lo; u < hi; u++ {
		y, x := ws.spatial(u, sg.grid)
		row := out[(u-lo)*d : (u-lo+1)*d]
		kernels.Add(row, row, sg.pos[(y*sg.grid.W+x)*d:(y*sg.grid.W+x+1)*d])
	}
}

// poolResidual widens and pools the residual for pooled rows [lo, hi):
// row t is the max over the q_stride rows s·nOut + t of the widening
// projection, or, without one, the max and the mean of the input rows
// side by side.
func (ws *workspace) poolResidual(sg *segment, b *block, lo, hi int) {
	q, d, di := b.qStride, b.dim, b.dimIn
	for t := lo; t < hi; t++ {
		dst := ws.x2[(sg.offOut+t)*d : (sg.offOut+t+1)*d]
		if b.expand != nil {
			copy(dst, ws.y[(sg.off+t)*d:(sg.off+t+1)*d])
			for s := 1; s < q; s++ {
				src := ws.y[(sg.off+s*sg.nOut+t)*d:]
				for j := range dst {
					dst[j] = max(dst[j], src[j])
				}
			}
			continue
		}
		mx, mean := dst[:di], dst[di:2*di]
		first := ws.x[(sg.off+t)*di : (sg.off+t+1)*di]
		copy(mx, first)
		copy(mean, first)
		for s := 1; s < q; s++ {
			src := ws.x[(sg.off+s*sg.nOut+t)*di:]
			for j := range mx {
				mx[j] = max(mx[j], src[j])
				mean[j] += src[j]
			}
		}
		for j := range mean {
			mean[j] /= float32(q)
		}
	}
}

// attend runs one head's attention for query rows [lo, hi) of one mask
// unit: timm lays a block's tokens out so that unit w holds tokens
// w, w+units, w+2·units, …; the queries are max-pooled over the q_stride
// groups of the unit's rows (row j of the pooled unit: the max of rows
// s·L/q_stride + j), the keys and values are all its rows. The unit's
// rows lie units rows apart, so they are gathered (and the output
// scattered back): the GEMMs then read contiguous rows.
func (ws *workspace) attend(w *scratch, sg *segment, b *block, it item) {
	d, hd := b.dim, b.dim/b.heads
	units := ws.units(sg)
	unit, col := it.unit, it.head*hd
	keys := sg.nIn / units
	lq := keys / b.qStride
	stride := units * 3 * d // one unit row to the next in qkv
	qkv := ws.qkv[(sg.off+unit)*3*d:]
	k, v := w.k[:keys*hd], w.v[:keys*hd]
	for i := 0; i < keys; i++ {
		copy(k[i*hd:(i+1)*hd], qkv[i*stride+d+col:])
		copy(v[i*hd:(i+1)*hd], qkv[i*stride+2*d+col:])
	}
	n := it.hi - it.lo
	q := w.q[:n*hd]
	for j := it.lo; j < it.hi; j++ {
		row := q[(j-it.lo)*hd : (j-it.lo+1)*hd]
		copy(row, qkv[j*stride+col:j*stride+col+hd])
		for s := 1; s < b.qStride; s++ {
			src := qkv[(s*lq+j)*stride+col:]
			for c := range row {
				row[c] = max(row[c], src[c])
			}
		}
	}
	o := w.o[:n*hd]
	nn.AttendRows(o, hd, q, hd, k, hd, v, hd, n, keys, hd, attentionScale(hd), nil, w.scores)
	for j := it.lo; j < it.hi; j++ {
		at := (sg.offOut+unit+j*units)*d + col
		copy(ws.ao[at:at+hd], o[(j-it.lo)*hd:(j-it.lo+1)*hd])
	}
}

// output copies one segment's features out and applies the head: the
// mean of the last block's tokens, head.norm, then the classifier.
func (ws *workspace) output(sg *segment, out *nn.Output) {
	m := ws.m
	d := m.net.blocks[len(m.net.blocks)-1].dim
	n := sg.nOut
	x := ws.x[sg.offOut*d : (sg.offOut+n)*d]
	s := m.shrink()
	out.Grid, out.Prefix = posenc.Grid{H: sg.grid.H / s[0], W: sg.grid.W / s[1]}, 0
	out.Tokens = nn.Grow(out.Tokens, n*d)
	copy(out.Tokens, x)
	out.Pooled = nn.Grow(out.Pooled, d)
	for j := 0; j < d; j++ {
		var sum float64
		for r := 0; r < n; r++ {
			sum += float64(x[r*d+j])
		}
		out.Pooled[j] = float32(sum / float64(n))
	}
	m.net.norm.Rows(out.Pooled, out.Pooled)
	if m.net.head == nil {
		out.Logits = out.Logits[:0]
		return
	}
	out.Logits = nn.Grow(out.Logits, m.net.head.Out)
	m.net.head.Apply(1, 1, out.Pooled, d, out.Logits, m.net.head.Out, kernels.ActNone, nil)
}
