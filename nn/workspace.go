package nn

import (
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/posenc"
)

// Work granularity. Every kernel's result for one row depends on that
// row's data only (never on where the row falls in a tile or how many rows
// a call gets), so tiles may follow the thread count without changing bits.
// Attention tiles are fixed anyway.
const (
	// maxRowTile bounds the token rows per item of the row-local phases
	// (norms, GEMMs, MLP). The GEMM streams all of B once per row block of
	// up to 168 rows (AVX-512; 240 AVX2, 128 NEON), so a tile of at most 168 rows
	// is one block there, and 168 is a multiple of every level's register
	// tile height (14, 6, 8). Models with bfloat16 weights widened onto
	// the float32 kernels take taller tiles (Encoder.rowTiles).
	maxRowTile = 168
	patchTile  = 64  // patches per item of the patch embedding
	queryTile  = 256 // query rows per attention item: its scores are queryTile×n
)

// segment is one image's place in the packed sequence.
type segment struct {
	img  Image       // the image as embedded (resized copy under EdgeResize)
	grid posenc.Grid // its patch grid
	off  int         // first row of its tokens in the sequence
	n    int         // prefix + grid.N() rows
	// keep is how many of its leading rows the last block computes (n,
	// or the head's tokens when its output asked for the head alone), and
	// at where they lie once that block's row phase has gathered them.
	keep, at int
}

// item is one unit of parallel work: a row range of one segment (embed,
// attention) and a head.
type item struct {
	seg, head, lo, hi int
}

type phase int

const (
	phaseEmbed phase = iota
	phaseRows
	phaseAttention
)

// scratch is one worker's private buffers.
type scratch struct {
	ln     []float32           // rowTile×dim: normalised rows
	hid    []float32           // rowTile×(widest MLP scratch): the MLP's hidden layer
	col    []float32           // patchTile×C·ph·pw: im2col patches
	scores []float32           // queryTile×(longest segment): one head's scores for a query tile
	bias   []float32           // like scores: their attention bias (empty without one)
	kv     kernels.AttentionKV // one head's k and v packed for fused attention (long images)
	err    error               // the first error of this worker's attention items
}

// workspace holds every buffer of one forward pass. Workspaces live in the
// model's Runner, one per concurrent caller, and only grow: once warm for a
// size, a forward allocates nothing.
type workspace struct {
	m       *Model
	segs    []segment
	resized [][]float32 // per segment, the EdgeResize copy of the image
	tokens  int         // rows of the packed sequence
	rows    rowTiling   // the items of the row phases
	rowTile int         // rows of the widest of them
	// rowT is the threads of each row item's GEMMs: the workers the
	// items leave over. A small image is one row item, which would
	// otherwise run its GEMMs on one core while the others wait.
	rowT kernels.Threads
	x    []float32 // tokens×dim: the residual stream
	qkv  []float32 // tokens×3·dim
	ao   []float32 // tokens×dim: attention output before the projection
	head []float32 // the head's scratch (pooling, classifiers)
	work []scratch // one per worker

	// the phase being run
	kind  phase
	block int    // row phase: the block whose attention output is folded in (-1: before block 0)
	items []item // the current phase's items: embed or attn
	embed []item
	attn  []item
	// attnKept is the last block's attention items when some segment
	// keeps fewer rows than it has (trimmed).
	attnKept []item
	batch    Batch
}

func newWorkspace(m *Model) *workspace {
	return &workspace{m: m, work: make([]scratch, m.Threads())}
}

// bufferLens are the lengths of a workspace's buffers: the shared ones
// (residual stream, qkv, attention output, head) and each worker's.
type bufferLens struct{ x, qkv, ao, head, ln, hid, col, scores, bias, kvKeys int }

func (ws *workspace) lens() bufferLens {
	e := ws.m.enc
	d := e.Dim
	longest := 0
	for _, s := range ws.segs {
		longest = max(longest, s.n)
	}
	hid := 0
	for i := range e.Blocks {
		hid = max(hid, e.Blocks[i].MLP.Scratch())
	}
	l := bufferLens{x: ws.tokens * d, qkv: ws.tokens * 3 * d, ao: ws.tokens * d, head: e.Head.scratch(longest, d),
		ln: ws.rowTile * d, hid: ws.rowTile * hid, col: e.Patch.ColLen(patchTile),
		scores: queryTile * longest}
	if from := fusedFrom(); longest >= from {
		// Every segment that long attends fused and needs no scores; the
		// bias, if any, is still a tile of them.
		short := 0
		for _, s := range ws.segs {
			if s.n < from {
				short = max(short, s.n)
			}
		}
		l.scores = queryTile * short
		l.kvKeys = longest
	}
	if ws.hasBias() {
		l.bias = queryTile * longest
	}
	return l
}

// hasBias reports whether any block adds an attention bias.
func (ws *workspace) hasBias() bool {
	e := ws.m.enc
	for b := range e.Blocks {
		if e.bias(b) != nil {
			return true
		}
	}
	return false
}

// rowTiling is how the row phases cut the packed sequence: tiles whose
// inner bounds are multiples of the GEMM's register tile height mr (so
// only the last tile has a partial register tile), as even as that
// allows, of at most maxRowTile rows.
type rowTiling struct{ tokens, tiles, mr int }

// rowTiles cuts tokens rows for threads workers for e's forward. Where
// e's Linears hold bfloat16 weights that the level widens onto its
// float32 kernels, every GemmBF16 call widens each weight panel once per
// row block, so a tile costs a widening of every weight: the rows go in
// tiles of up to GemmBF16's row block, as few as give each worker a whole
// number (one each for a 197-token ViT-B/16), not rowTilingFor's three
// per worker. (One tile with its GEMMs on every worker, column chunks
// each widened once, measured slower at two threads.)
func (e *Encoder) rowTiles(tokens, threads int) rowTiling {
	mr := e.linearRowTile()
	for _, b := range e.Blocks {
		if b.QKV.H == nil {
			continue
		}
		rb := kernels.GemmBF16RowBlock()
		if rb == 0 {
			break // the level multiplies bfloat16 without widening it
		}
		t := fewestTiles(tokens, rb, mr)
		t.tiles = (t.tiles + threads - 1) / threads * threads
		t.tiles = max(1, min(t.tiles, tokens/t.mr))
		return t
	}
	return rowTilingFor(tokens, threads, mr)
}

// linearRowTile is the register tile height of the GEMM that e's Linears
// run on, read off the blocks' qkv: the int8 or bfloat16 kernel's where
// it holds such weights, else the float32 kernel's. Tiles cut on the
// float32 kernel's 14 rows left the 6-row int8 and bfloat16 kernels two
// partial register tiles per column (98 and 99 rows for 197 tokens).
func (e *Encoder) linearRowTile() int {
	for _, b := range e.Blocks {
		switch {
		case b.QKV.Q != nil:
			return kernels.GemmQuantRowTile()
		case b.QKV.H != nil:
			return kernels.GemmBF16RowTile()
		}
	}
	return kernels.GemmRowTile()
}

// fewestTiles cuts tokens rows into the fewest even tiles of at most
// rowCap rows, inner bounds on multiples of mr.
func fewestTiles(tokens, rowCap, mr int) rowTiling {
	t := rowTiling{tokens: tokens, tiles: (tokens + rowCap - 1) / rowCap, mr: mr}
	for t.tiles > 1 && t.widest() > rowCap {
		t.tiles++ // even tiles differ by up to mr rows
	}
	return t
}

// rowTilingFor cuts tokens rows for threads workers. With several workers
// it makes at least three tiles per worker (while tiles keep 48 rows or
// more), so that on a busy machine a worker the OS runs sooner takes more
// of them instead of waiting at the end of the phase for one that was
// descheduled; and it makes a whole number of tiles per worker, since a
// phase ends with its last tile: 197 rows as tiles of 56, 56, 56 and 29
// keep one of two workers busy for 112 rows and the other for 85, as 56,
// 56, 42 and 43 for 98 and 99.
func rowTilingFor(tokens, threads, mr int) rowTiling {
	t := fewestTiles(tokens, maxRowTile, mr)
	least := max(1, t.tiles)
	tiles := least
	if threads > 1 {
		tiles = max(tiles, min(3*threads, tokens/48))
		if tiles >= threads {
			if up := (tiles + threads - 1) / threads * threads; tokens/up >= 48 {
				tiles = up
			} else if down := tiles / threads * threads; down >= least {
				tiles = down
			}
		}
	}
	// At least mr rows a tile, so that no two bounds meet.
	t.tiles = max(1, min(tiles, tokens/t.mr))
	return t
}

// bound is the first row of tile i (tokens for i = tiles). The whole
// register tiles are dealt out evenly, the first tiles taking one more
// where they do not divide, so that workers claiming tiles in order get
// the longer ones first and end within a register tile of each other; the
// last tile takes the rows past the last whole register tile.
func (t rowTiling) bound(i int) int {
	if i >= t.tiles {
		return t.tokens
	}
	q := t.tokens / t.mr
	return t.mr * (i*(q/t.tiles) + min(i, q%t.tiles))
}

// widest is the rows of the largest tile, what a worker's buffers hold.
func (t rowTiling) widest() int {
	w := 0
	for i := range t.tiles {
		w = max(w, t.bound(i+1)-t.bound(i))
	}
	return w
}

// tileRows cuts the row phases over the first rows rows of the sequence.
func (ws *workspace) tileRows(rows int) {
	ws.rows = ws.m.enc.rowTiles(rows, len(ws.work))
	ws.rowT = kernels.Threads(max(1, len(ws.work)/ws.rows.tiles))
}

// size makes the buffers fit the segments now in ws.segs.
func (ws *workspace) size() {
	ws.tileRows(ws.tokens)
	ws.rowTile = ws.rows.widest()
	if ws.trimmed() {
		// The last block's rows may be cut in fewer, wider tiles.
		ws.rowTile = max(ws.rowTile, ws.m.enc.rowTiles(ws.kept(), len(ws.work)).widest())
	}
	l := ws.lens()
	ws.x, ws.qkv, ws.ao, ws.head = Grow(ws.x, l.x), Grow(ws.qkv, l.qkv), Grow(ws.ao, l.ao), Grow(ws.head, l.head)
	for i := range ws.work {
		w := &ws.work[i]
		w.ln, w.hid, w.col = Grow(w.ln, l.ln), Grow(w.hid, l.hid), Grow(w.col, l.col)
		w.scores, w.bias = Grow(w.scores, l.scores), Grow(w.bias, l.bias)
		// Every worker, not only those that ran a fused item so far.
		w.kv.Reserve(l.kvKeys, ws.m.enc.HeadDim())
		for b := range ws.m.enc.Blocks {
			w.kv.ReserveAs(ws.m.enc.attentionPrecision(b), l.kvKeys, ws.m.enc.HeadDim())
		}
	}
}

// kept is the rows the last block computes, all segments together.
func (ws *workspace) kept() int {
	k := 0
	for _, s := range ws.segs {
		k += s.keep
	}
	return k
}

// trimmed reports whether the last block computes fewer rows than the
// sequence has (some output asked for a head that reads fewer).
func (ws *workspace) trimmed() bool { return ws.kept() < ws.tokens }

// resizeImages applies EdgeResize: each image whose sides are not whole
// patches is resized (bilinear, antialiased when shrinking, as
// torchvision's Resize) to its grid times the patch size, into the
// workspace. Unlike the rest of a forward pass this allocates (the taps).
func (ws *workspace) resizeImages() {
	p := ws.m.enc.Patch.Size
	for len(ws.resized) < len(ws.segs) {
		ws.resized = append(ws.resized, nil)
	}
	for i := range ws.segs {
		s := &ws.segs[i]
		h, w := s.grid.H*p[0], s.grid.W*p[1]
		if h == s.img.H && w == s.img.W {
			continue
		}
		th := kernels.InterpTaps(s.img.H, h, kernels.InterpBilinear, false, true)
		tw := kernels.InterpTaps(s.img.W, w, kernels.InterpBilinear, false, true)
		buf := Grow(ws.resized[i], s.img.C*h*w)
		ws.resized[i] = buf
		for c := 0; c < s.img.C; c++ {
			kernels.Resample(1, buf[c*h*w:(c+1)*h*w], s.img.Pix[c*s.img.H*s.img.W:(c+1)*s.img.H*s.img.W], 1, th, tw)
		}
		s.img = Image{C: s.img.C, H: h, W: w, Pix: buf}
	}
}

// run does the items of one phase on the model's workers.
func (ws *workspace) run(kind phase) {
	ws.kind = kind
	ws.m.run.Workers().Run(&ws.batch, ws, ws.count())
}

// Do runs item i of the current phase (Job).
func (ws *workspace) Do(worker, i int) {
	switch ws.kind {
	case phaseEmbed:
		ws.embedItem(worker, ws.items[i])
	case phaseRows:
		ws.rowsItem(worker, ws.rows.bound(i), ws.rows.bound(i+1))
	case phaseAttention:
		ws.attentionItem(worker, ws.items[i])
	}
}

// count is the number of items of the current phase.
func (ws *workspace) count() int {
	if ws.kind == phaseRows {
		return ws.rows.tiles
	}
	return len(ws.items)
}
