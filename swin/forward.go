package swin

import (
	"math"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// Work granularity. Every kernel's result for one row depends on that
// row's data only, and each window's attention on that window only, so
// tiles may follow the thread count without changing bits.
const (
	maxRowTile = 168 // token or window rows per item of the row phases (one GEMM row block)
	patchTile  = 64  // patches per item of the patch embedding
)

// maskValue is what timm adds to the scores of a query and key that come
// from different regions of a shifted window.
const maskValue = -100

// segment is one image's place in the packed sequence, at the stage being
// run: its token grid and rows, and how the grid is cut into windows.
type segment struct {
	img     nn.Image
	patch   posenc.Grid // the patch grid (stage 0)
	grid    posenc.Grid // the stage's token grid
	off     int         // first row of its tokens
	prev    posenc.Grid // the previous stage's grid (patch merging reads it)
	prevOff int
	// The windows: the grid padded at the bottom and right to whole
	// windows, hp×wp, nwy×nwx windows, whose rows start at woff in the
	// window matrix.
	hp, wp, nwy, nwx int
	woff             int
}

func (s *segment) windows() int { return s.nwy * s.nwx }

// source is the token (row-major in the grid) that row t of window wi
// holds once the grid is rolled by -shift and padded (timm's torch.roll,
// F.pad and window_partition), or -1 for a padding row. With padFirst the
// grid is padded, then rolled (transformers' order).
func (s *segment) source(wi, t int, win, shift [2]int, padFirst bool) int {
	y := wi/s.nwx*win[0] + t/win[1]
	x := wi%s.nwx*win[1] + t%win[1]
	if padFirst {
		y, x = (y+shift[0])%s.hp, (x+shift[1])%s.wp
		if y >= s.grid.H || x >= s.grid.W {
			return -1
		}
		return y*s.grid.W + x
	}
	if y >= s.grid.H || x >= s.grid.W {
		return -1
	}
	return (y+shift[0])%s.grid.H*s.grid.W + (x+shift[1])%s.grid.W
}

// shift is block b's shift on this segment's grid: its own, or, with
// perInput (transformers' Swin v1), none when the grid's shorter side
// fits in one window.
func (s *segment) shift(b *block, win [2]int, perInput bool) [2]int {
	if perInput && min(s.grid.H, s.grid.W) <= win[0] {
		return [2]int{}
	}
	return b.shift
}

// item is one unit of parallel work: rows (or windows) [lo, hi) of a
// segment, and for attention a head.
type item struct{ seg, head, lo, hi int }

type phase int

const (
	phaseEmbed     phase = iota // patch embedding and its norm
	phaseMerge                  // patch merging into x2
	phaseQKV                    // window partition (v1: with norm1) and the qkv projection
	phaseAttention              // per window and head
	phaseProj                   // projection (V2: norm1) and window reverse onto the residual stream
	phaseMLP                    // the MLP residual, row-local
	phaseNorm                   // the final norm
)

// scratch is one worker's private buffers.
type scratch struct {
	a, b   []float32    // maxRowTile × the widest row (4·width before a merge)
	hid    []float32    // maxRowTile × the widest MLP hidden layer
	col    []float32    // patchTile × C·ph·pw
	bias   [4][]float32 // window area² each: one head's bias, and it with the masks of the last window row, column, both
	scores []float32    // window area²: one head's scores in one window
}

// workspace holds every buffer of one forward pass; workspaces live in the
// model's pool, one per concurrent caller, and only grow: once warm for a
// size, a forward allocates nothing.
type workspace struct {
	m      *Model
	segs   []segment
	tokens int       // rows of the stage's packed tokens
	wrows  int       // rows of the stage's window matrix
	x, x2  []float32 // tokens×width: the residual stream, and the merged grid being built
	qkv    []float32 // window rows×3·width
	ao     []float32 // window rows×width: attention output before the projection
	work   []scratch // one per worker
	head   []float32 // the head's scratch

	// the phase being run
	kind         phase
	stage, block int
	items        []item
	embedIt      []item
	mergeIt      []item
	winIt        []item // window-row tiles: QKV and projection
	attnIt       []item
	rowIt        []item // token-row tiles: MLP and final norm
	batch        nn.Batch
}

func newWorkspace(m *Model) *workspace {
	return &workspace{m: m, work: make([]scratch, m.Threads())}
}

// geometry sets every segment's grid, rows and windows for stage si from
// those of stage si-1 (stage 0: the patch grid).
func (ws *workspace) geometry(si int) {
	st := &ws.m.net.stages[si]
	win := st.window
	ws.tokens, ws.wrows = 0, 0
	for i := range ws.segs {
		s := &ws.segs[i]
		s.prev, s.prevOff = s.grid, s.off
		if si == 0 {
			s.grid = s.patch
		} else { // patch merging pads odd sides: ⌈H/2⌉×⌈W/2⌉
			s.grid = posenc.Grid{H: (s.grid.H + 1) / 2, W: (s.grid.W + 1) / 2}
		}
		s.off = ws.tokens
		ws.tokens += s.grid.N()
		s.nwy, s.nwx = (s.grid.H+win[0]-1)/win[0], (s.grid.W+win[1]-1)/win[1]
		s.hp, s.wp = s.nwy*win[0], s.nwx*win[1]
		s.woff = ws.wrows
		ws.wrows += s.hp * s.wp
	}
}

// size makes the buffers fit every stage of the segments packed now,
// leaving the geometry at stage 0.
func (ws *workspace) size() {
	net := ws.m.net
	var x, qkv, ao, wide, hid, area int
	for si := range net.stages {
		ws.geometry(si)
		st := &net.stages[si]
		d := st.dim
		x, qkv, ao = max(x, ws.tokens*d), max(qkv, ws.wrows*3*d), max(ao, ws.wrows*d)
		wide = max(wide, d)
		if si > 0 {
			wide = max(wide, 4*net.stages[si-1].dim)
		}
		for bi := range st.blocks {
			hid = max(hid, st.blocks[bi].mlp.Scratch())
		}
		area = max(area, st.window[0]*st.window[1])
	}
	ws.geometry(0)
	ws.x, ws.x2, ws.qkv, ws.ao = nn.Grow(ws.x, x), nn.Grow(ws.x2, x), nn.Grow(ws.qkv, qkv), nn.Grow(ws.ao, ao)
	for i := range ws.work {
		w := &ws.work[i]
		w.a, w.b = nn.Grow(w.a, maxRowTile*wide), nn.Grow(w.b, maxRowTile*wide)
		w.hid, w.col = nn.Grow(w.hid, maxRowTile*hid), nn.Grow(w.col, net.patch.ColLen(patchTile))
		for k := range w.bias {
			w.bias[k] = nn.Grow(w.bias[k], area*area)
		}
		w.scores = nn.Grow(w.scores, area*area)
	}
}

// forward runs the network on the packed segments.
func (ws *workspace) forward() {
	net := ws.m.net
	ws.geometry(0)
	ws.embedItems()
	ws.stage, ws.items = 0, ws.embedIt
	ws.run(phaseEmbed)
	for si := range net.stages {
		ws.stage = si
		if si > 0 {
			ws.geometry(si)
			ws.mergeItems()
			ws.items = ws.mergeIt
			ws.run(phaseMerge)
			ws.x, ws.x2 = ws.x2, ws.x
		}
		ws.stageItems()
		for bi := range net.stages[si].blocks {
			ws.block = bi
			ws.items = ws.winIt
			ws.run(phaseQKV)
			ws.items = ws.attnIt
			ws.run(phaseAttention)
			ws.items = ws.winIt
			ws.run(phaseProj)
			ws.items = ws.rowIt
			ws.run(phaseMLP)
		}
	}
	ws.items = ws.rowIt
	ws.run(phaseNorm)
}

// run does the items of one phase on the model's workers.
func (ws *workspace) run(kind phase) {
	ws.kind = kind
	ws.m.run.Workers().Run(&ws.batch, ws, len(ws.items))
}

// Do runs item i of the current phase (nn.Job).
func (ws *workspace) Do(worker, i int) {
	it := ws.items[i]
	sc := &ws.work[worker]
	switch ws.kind {
	case phaseEmbed:
		ws.embed(sc, it)
	case phaseMerge:
		ws.merge(sc, it)
	case phaseQKV:
		ws.partition(sc, it)
	case phaseAttention:
		ws.attend(sc, it)
	case phaseProj:
		ws.reverse(sc, it)
	case phaseMLP:
		ws.mlp(sc, it)
	case phaseNorm:
		d := ws.m.net.stages[ws.stage].dim
		x := ws.x[it.lo*d : it.hi*d]
		ws.m.net.norm.Rows(x, x)
	}
}

// tiles cuts n rows into even tiles of at most maxRowTile rows; with
// several workers it makes at least three tiles per worker while tiles
// keep 32 rows or more, so that a worker the OS runs sooner takes more,
// and one per worker while they keep 16: the last stages of a pyramid
// have few tokens (Swin-T at 224²: 49 rows of 768) and the most weights.
func tiles(n, threads int) int {
	t := (n + maxRowTile - 1) / maxRowTile
	if threads > 1 {
		t = max(t, min(3*threads, n/32), min(threads, n/16))
	}
	t = max(t, 1)
	return (n + t - 1) / t
}

// appendTiles appends the tiles of rows [0, n) of segment seg.
func appendTiles(items []item, seg, n, threads int) []item {
	if n == 0 {
		return items
	}
	tile := tiles(n, threads)
	for lo := 0; lo < n; lo += tile {
		items = append(items, item{seg: seg, lo: lo, hi: min(n, lo+tile)})
	}
	return items
}

func (ws *workspace) embedItems() {
	ws.embedIt = ws.embedIt[:0]
	for si, s := range ws.segs {
		for lo := 0; lo < s.grid.N(); lo += patchTile {
			ws.embedIt = append(ws.embedIt, item{seg: si, lo: lo, hi: min(s.grid.N(), lo+patchTile)})
		}
	}
}

func (ws *workspace) mergeItems() {
	ws.mergeIt = ws.mergeIt[:0]
	for si, s := range ws.segs {
		ws.mergeIt = appendTiles(ws.mergeIt, si, s.grid.N(), len(ws.work))
	}
}

// stageItems lists the window-row, attention and token-row items of the
// current stage.
func (ws *workspace) stageItems() {
	st := &ws.m.net.stages[ws.stage]
	threads := len(ws.work)
	nt := st.window[0] * st.window[1]
	ws.winIt, ws.attnIt = ws.winIt[:0], ws.attnIt[:0]
	for si := range ws.segs {
		s := &ws.segs[si]
		ws.winIt = appendTiles(ws.winIt, si, s.windows()*nt, threads)
		// Windows per attention item: one head's bias is gathered once per
		// item, so items take as many windows as the workers allow.
		nw := s.windows()
		chunks := min(nw, max(1, (4*threads+st.heads-1)/st.heads))
		per := (nw + chunks - 1) / chunks
		for h := 0; h < st.heads; h++ {
			for lo := 0; lo < nw; lo += per {
				ws.attnIt = append(ws.attnIt, item{seg: si, head: h, lo: lo, hi: min(nw, lo+per)})
			}
		}
	}
	ws.rowIt = appendTiles(ws.rowIt[:0], 0, ws.tokens, threads)
}

// embed is timm's PatchEmbed for patches [lo, hi) of a segment: a stride-p
// convolution (a GEMM over unfolded patches) and a LayerNorm.
func (ws *workspace) embed(sc *scratch, it item) {
	net := ws.m.net
	s := &ws.segs[it.seg]
	p := &net.patch
	d, n := p.Dim, it.hi-it.lo
	col := sc.col[:p.ColLen(n)]
	nn.Im2Col(col, s.img, s.grid, p.Size, it.lo, it.hi)
	x := ws.x[(s.off+it.lo)*d : (s.off+it.hi)*d]
	kernels.GemmPacked(1, n, col, p.ColLen(1), p.Kernel, x, d, kernels.Epilogue{Bias: p.Bias})
	net.patchNorm.Rows(x, x)
}

// merge is timm's PatchMerging for rows [lo, hi) of a segment's merged
// grid: pad the grid to even sides with zeros, concatenate each 2×2
// neighbourhood in timm's order (top-left, bottom-left, top-right,
// bottom-right), then norm and reduce (v1) or reduce and norm (V2).
func (ws *workspace) merge(sc *scratch, it item) {
	st := &ws.m.net.stages[ws.stage]
	dp, d := ws.m.net.stages[ws.stage-1].dim, st.dim
	s := &ws.segs[it.seg]
	n := it.hi - it.lo
	cat := sc.a[:n*4*dp]
	for r := it.lo; r < it.hi; r++ {
		y, x := r/s.grid.W, r%s.grid.W
		for q, off := range [4][2]int{{0, 0}, {1, 0}, {0, 1}, {1, 1}} {
			part := cat[((r-it.lo)*4+q)*dp : ((r-it.lo)*4+q+1)*dp]
			sy, sx := 2*y+off[0], 2*x+off[1]
			if sy < s.prev.H && sx < s.prev.W {
				src := s.prevOff + sy*s.prev.W + sx
				copy(part, ws.x[src*dp:(src+1)*dp])
			} else {
				clear(part)
			}
		}
	}
	out := ws.x2[(s.off+it.lo)*d : (s.off+it.hi)*d]
	if ws.m.net.v2 {
		st.reduction.Apply(1, n, cat, 4*dp, out, d, kernels.ActNone, nil)
		st.mergeNorm.Rows(out, out)
		return
	}
	ln := sc.b[:n*4*dp]
	st.mergeNorm.Rows(ln, cat)
	st.reduction.Apply(1, n, ln, 4*dp, out, d, kernels.ActNone, nil)
}

// partition gathers window rows [lo, hi) of a segment from the rolled,
// padded grid (v1: normalised by norm1 first; padding rows are zeros, as
// F.pad makes them) and projects them to q, k, v. V2 then normalises each
// head's q and k (cosine attention).
func (ws *workspace) partition(sc *scratch, it item) {
	net := ws.m.net
	st := &net.stages[ws.stage]
	b := &st.blocks[ws.block]
	s := &ws.segs[it.seg]
	d, nt, n := st.dim, st.window[0]*st.window[1], it.hi-it.lo
	a := sc.a[:n*d]
	cfg := &ws.m.cfg
	shift := s.shift(b, st.window, cfg.ShiftPerInput)
	for r := it.lo; r < it.hi; r++ {
		dst := a[(r-it.lo)*d : (r-it.lo+1)*d]
		src := s.source(r/nt, r%nt, st.window, shift, cfg.PadThenShift)
		switch {
		case src < 0 && b.norm1.Zero != nil:
			copy(dst, b.norm1.Zero) // a zero row to the unfolded qkv
		case src < 0:
			clear(dst)
		case net.v2:
			copy(dst, ws.x[(s.off+src)*d:])
		default:
			b.norm1.Row(dst, ws.x[(s.off+src)*d:(s.off+src+1)*d])
		}
	}
	qkv := ws.qkv[(s.woff+it.lo)*3*d : (s.woff+it.hi)*3*d]
	b.qkv.Apply(1, n, a, d, qkv, 3*d, kernels.ActNone, nil)
	if net.v2 {
		// Cosine attention: every head's q and k over its L2 norm
		// (F.normalize, eps 1e-12); a zero key (a padding row's, which
		// has no bias) stays zero.
		for r := 0; r < n; r++ {
			kernels.NormalizeSegments(qkv[r*3*d:r*3*d+2*d], d/st.heads, 1e-12)
		}
	}
}

// attend runs one head's attention over windows [lo, hi) of a segment:
// softmax(scale·q·kᵀ + bias + mask)·v, the bias gathered once per item
// from the block's table. In shifted blocks the windows of the last window
// row and column hold tokens rolled in from the opposite edge (and the
// padding): a query and key of different regions get -100, as timm's mask.
func (ws *workspace) attend(sc *scratch, it item) {
	st := &ws.m.net.stages[ws.stage]
	b := &st.blocks[ws.block]
	s := &ws.segs[it.seg]
	d, h := st.dim, it.head
	hd, nt := d/st.heads, st.window[0]*st.window[1]
	base := sc.bias[0][:nt*nt]
	table := b.table[h*st.rows : (h+1)*st.rows]
	for i, r := range st.index {
		base[i] = table[r]
	}
	scale := float32(1 / math.Sqrt(float64(hd)))
	if b.scale != nil {
		scale = b.scale[h]
	}
	built := 1 // bit k: sc.bias[k] holds this item's bias with mask k
	shift := s.shift(b, st.window, ws.m.cfg.ShiftPerInput)
	for wi := it.lo; wi < it.hi; wi++ {
		kind := 0
		if shift[0] > 0 && wi/s.nwx == s.nwy-1 {
			kind |= 1
		}
		if shift[1] > 0 && wi%s.nwx == s.nwx-1 {
			kind |= 2
		}
		bias := sc.bias[kind][:nt*nt]
		if built&(1<<kind) == 0 {
			masked(bias, base, kind, st.window, shift)
			built |= 1 << kind
		}
		row := (s.woff + wi*nt) * 3 * d
		nn.AttendRows(ws.ao[(s.woff+wi*nt)*d+h*hd:], d,
			ws.qkv[row+h*hd:], 3*d, ws.qkv[row+d+h*hd:], 3*d, ws.qkv[row+2*d+h*hd:], 3*d,
			nt, nt, hd, scale, bias, sc.scores)
	}
}

// masked writes base plus timm's shifted-window mask for a window of the
// last window row (kind bit 0) and/or column (bit 1): there the padded,
// rolled grid is cut at hp-window and hp-shift (and likewise wp), and the
// tokens of different bands must not attend to each other.
func masked(dst, base []float32, kind int, win, shift [2]int) {
	nt := win[0] * win[1]
	for i := 0; i < nt; i++ {
		ri, ci := band(i/win[1], win[0], shift[0], kind&1), band(i%win[1], win[1], shift[1], kind&2)
		d, b := dst[i*nt:(i+1)*nt], base[i*nt:(i+1)*nt]
		for ky := 0; ky < win[0]; ky++ {
			other := band(ky, win[0], shift[0], kind&1) != ri
			dr, br := d[ky*win[1]:(ky+1)*win[1]], b[ky*win[1]:(ky+1)*win[1]]
			for kx, v := range br {
				if other || band(kx, win[1], shift[1], kind&2) != ci {
					v += maskValue
				}
				dr[kx] = v
			}
		}
	}
}

// band is which side of the cut a window row or column x lies on (of n,
// the last s rolled in from the other edge): 1 before it, 2 after, 0 when
// the window has no cut in that direction (on == 0). Tokens of different
// bands in either direction are masked.
func band(x, n, s, on int) int {
	switch {
	case on == 0:
		return 0
	case x >= n-s:
		return 2
	}
	return 1
}

// reverse projects window rows [lo, hi) of a segment (V2: then norm1, the
// post-norm) and adds each to the residual stream at the token it came
// from, undoing the roll and dropping the padding (timm's window_reverse).
// Every token has one window row, so items write disjoint rows.
func (ws *workspace) reverse(sc *scratch, it item) {
	net := ws.m.net
	st := &net.stages[ws.stage]
	b := &st.blocks[ws.block]
	s := &ws.segs[it.seg]
	d, nt, n := st.dim, st.window[0]*st.window[1], it.hi-it.lo
	a := sc.a[:n*d]
	b.proj.Apply(1, n, ws.ao[(s.woff+it.lo)*d:(s.woff+it.hi)*d], d, a, d, kernels.ActNone, nil)
	cfg := &ws.m.cfg
	shift := s.shift(b, st.window, cfg.ShiftPerInput)
	for r := it.lo; r < it.hi; r++ {
		src := s.source(r/nt, r%nt, st.window, shift, cfg.PadThenShift)
		if src < 0 {
			continue
		}
		row := a[(r-it.lo)*d : (r-it.lo+1)*d]
		if net.v2 {
			kernels.LayerNorm(row, row, b.norm1.W, b.norm1.B, b.norm1.Eps)
		}
		x := ws.x[(s.off+src)*d : (s.off+src+1)*d]
		kernels.Add(x, x, row)
	}
}

// mlp adds the MLP residual to token rows [lo, hi): v1
// x += MLP(norm2(x)), V2 x += norm2(MLP(x)).
func (ws *workspace) mlp(sc *scratch, it item) {
	net := ws.m.net
	st := &net.stages[ws.stage]
	b := &st.blocks[ws.block]
	d, n := st.dim, it.hi-it.lo
	x := ws.x[it.lo*d : it.hi*d]
	a := sc.a[:n*d]
	if net.v2 {
		clear(a)
		b.mlp.Forward(1, n, x, sc.hid, a)
		b.norm2.Rows(a, a)
		kernels.Add(x, x, a)
		return
	}
	b.norm2.Rows(a, x)
	b.mlp.Forward(1, n, a, sc.hid, x)
}

// outputs copies each segment's features out and applies the head.
func (ws *workspace) outputs(outs []nn.Output) {
	net := ws.m.net
	d := net.stages[len(net.stages)-1].dim
	for i := range ws.segs {
		s := &ws.segs[i]
		o := &outs[i]
		n := s.grid.N()
		o.Grid, o.Prefix = s.grid, 0
		o.Tokens = nn.Grow(o.Tokens, n*d)
		copy(o.Tokens, ws.x[s.off*d:(s.off+n)*d])
		ws.head = nn.Grow(ws.head, net.head.Scratch(n, d))
		net.head.Apply(o.Tokens, n, 0, d, ws.head, o)
	}
}
