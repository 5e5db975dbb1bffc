package kernels

import (
	"sync/atomic"
)

// gemmMicro describes one level's register-blocked micro-kernel and the
// cache blocking tuned for it.
//
// kernel[r-1] computes an r×nr tile (r ≤ mr) over k steps:
// acc = Σ_p a[p·mr+i]·b[p][j], where b[p] is row p of panel b0 for columns
// [0, gemmPanel) and of panel b1 for [gemmPanel, 2·gemmPanel) when nr spans
// two panels; then C = acc (add == 0) or C = C + acc (add == 1), rows ldc
// elements apart. k ≥ 1. The sum runs in increasing p in every variant, so
// a tile's bits depend only on its own data, never on the thread count.
//
// When fusedEp is set, the kernels also take a tileEpilogue (nil for none)
// and apply it to the accumulators before the store; otherwise they ignore
// it and the driver's finishTile applies the epilogue to the stored tile.
type gemmMicro struct {
	mr, nr int // register tile: rows, columns (gemmPanel or 2·gemmPanel)
	mc, kc int // largest row block (a multiple of mr) and K block
	kernel []func(k int, a, b0, b1, c *float32, ldc, add int, ep *tileEpilogue, pf *float32)
	// kernelA, when set, holds the same kernels reading A in place (row
	// r's K steps at a[r·lda:], k of them), which the driver uses instead
	// of packing A when A is not transposed and alpha is 1. They run the
	// same FMAs in the same order, so the choice never changes a bit.
	kernelA []func(k int, a *float32, lda int, b0, b1, c *float32, ldc, add int, ep *tileEpilogue, pf *float32)
	fusedEp bool
	// pfLines is how many cache lines from pf a kernel prefetches per
	// main-loop iteration (unroll K steps); 0 when it ignores pf. pf must
	// point into memory that far (it is a hint, but stays in bounds).
	pfLines int
	// packPanel, when set, packs rows of a row-major A into a panel of
	// stride mr when the rows up to the next multiple of 8 exist (see
	// packPanelAVX); packA uses Go for the others.
	packPanel func(d []float32, mr, rows int, a []float32, lda int, alpha float32, r0, p0, kc int)
	// attn, when set, holds the level's fused attention kernels (attn[h-1]
	// for h rows of a packed query panel; see attention_fused.go), which
	// Attention uses instead of this micro-kernel.
	attn []func(*attnArgs)
	// attnOut: the attn kernels write the last key block's finished rows
	// to attnArgs.dst themselves.
	attnOut bool
	// actTile[act], when set, applies act in place to a stored tile (rows
	// × cols at c, ldc apart) with the bits of Activate at this level: the
	// float32 driver runs it on each tile as its last K block is stored,
	// while the tile is in L1, rather than over the work item's rows after
	// all its tiles (finishRows), when the rows have left for L2.
	actTile [ActSiLU + 1]func(c *float32, ldc, rows, cols int)
	// attnMinKeys, when positive, is the key count from which Attention
	// beats the unfused products at this level (AttentionMinKeys); 0 for
	// the default of 1024.
	attnMinKeys int
}

// tileEpilogue is the part of an Epilogue that a fused micro-kernel applies
// to a full nr-column tile in registers, after acc += C (add != 0) and
// before the store, in finishTile's order:
//
//	acc[r][x] += bias[x]             (bias != nil)
//	acc[r][x] += res[r·ldr + x]      (res != nil)
//
// The layout is read by the assembly: bias at 0, res at 8, ldr at 16.
type tileEpilogue struct {
	bias *float32 // the bias at the tile's first column, or nil
	res  *float32 // the residual at the tile's origin, or nil
	ldr  int      // the residual's row stride, in elements
}

// gemmLevel is the active micro-kernel, set by dispatch.
var gemmLevel *gemmMicro

// gemmCall is one product C = alpha·op(A)·B + beta·C (B packed), followed
// by the epilogue; beta is 0 (C is not read), 1, or a scale applied to C
// before the first K block.
type gemmCall struct {
	mk      *gemmMicro // the level's kernel, read once per call
	threads int
	m, n, k int
	a       []float32
	lda     int
	transA  bool
	alpha   float32
	pb      *PackedB
	lazy    *lazyB // when set, pb's panels are packed on first use
	c       []float32
	ldc     int
	beta    float32
	ep      Epilogue
	// bf, when set, is B in bfloat16: pb then only gives the shape (no
	// data), and each tile's panels are widened over the K block into the
	// worker's scratch, in pieces during the tile before (bfBegin,
	// bfStep) or just before its row tiles run (widenTile), so the
	// result has the bits of GemmPacked on B widened in full.
	bf *BF16B
}

// gemmPlan is how a call is cut into work items: row blocks × column
// chunks. Tiles always start at multiples of mr and nr from the origin and
// K blocks at multiples of kc, whatever the plan, so the plan never changes
// the result.
type gemmPlan struct {
	mk                   *gemmMicro
	mc, kc               int // row block, K block
	rowBlocks, colChunks int
	chunkCols            int // columns per chunk, a multiple of nr
}

func planGemm(mk *gemmMicro, threads, m, n, k int) gemmPlan {
	return planGemmMC(mk, mk.mc, threads, m, n, k)
}

// planGemmMC is planGemm with row blocks of up to mcMax rows.
func planGemmMC(mk *gemmMicro, mcMax, threads, m, n, k int) gemmPlan {
	p := gemmPlan{mk: mk, kc: kBlock(mk, k)}

	rowBlocks := (m + mcMax - 1) / mcMax
	if threads > 1 && rowBlocks < 3*threads {
		// More, smaller row blocks balance threads on a busy machine;
		// a block keeps at least 4 panels so B panels are reused.
		rowBlocks = max(rowBlocks, min(3*threads, m/(4*mk.mr)))
	}
	p.mc = roundUp((m+rowBlocks-1)/rowBlocks, mk.mr)
	p.rowBlocks = (m + p.mc - 1) / p.mc

	tiles := (n + mk.nr - 1) / mk.nr
	chunks := 1
	if threads > 1 && p.rowBlocks < 2*threads {
		// Too few rows to share: split the columns too (each chunk
		// packs its own copy of A, so only as far as needed).
		chunks = min(tiles, (3*threads+p.rowBlocks-1)/p.rowBlocks)
	}
	perChunk := (tiles + chunks - 1) / chunks
	p.chunkCols = perChunk * mk.nr
	p.colChunks = (tiles + perChunk - 1) / perChunk
	return p
}

// kBlock is the K block for a product with k steps: the level's kc, evened
// out so the last block is not a sliver. It depends on k alone.
func kBlock(mk *gemmMicro, k int) int {
	if k == 0 {
		return 1
	}
	blocks := (k + mk.kc - 1) / mk.kc
	return (k + blocks - 1) / blocks
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// gemmScratch is one worker's packed-A block, edge tile and the epilogue
// its fused kernel calls read.
type gemmScratch struct {
	a, tile []float32
	wb      []float32 // a bfloat16 tile's panels widened (gemmCall.bf)
	ahead   bfTile    // the next tile column's, being widened into wb
	ep      tileEpilogue
}

var gemmScratchPool freeList[gemmScratch]

func getScratch(alen, tlen int) *gemmScratch {
	s := gemmScratchPool.get()
	if s == nil {
		s = &gemmScratch{}
	}
	if cap(s.a) < alen {
		s.a = make([]float32, alen)
	}
	if cap(s.tile) < tlen {
		s.tile = make([]float32, tlen)
	}
	s.a, s.tile = s.a[:alen], s.tile[:tlen]
	return s
}

// gemmRun computes the call on up to g.threads goroutines. One thread runs
// on the caller's goroutine without allocating.
func gemmRun(g *gemmCall) {
	if g.k == 0 {
		g.noReduction()
		return
	}
	mc := g.mk.mc
	if g.bf != nil {
		mc = bf16RowBlock(g.mk)
	}
	p := planGemmMC(g.mk, mc, g.threads, g.m, g.n, g.k)
	items := p.rowBlocks * p.colChunks
	if workers := min(g.threads, items); workers > 1 {
		gemmRunParallel(g, p, items, workers)
		return
	}
	s := getScratch(g.packLen(&p), p.mk.mr*p.mk.nr)
	for it := 0; it < items; it++ {
		g.runItem(&p, s, it/p.colChunks, it%p.colChunks, 0)
	}
	gemmScratchPool.put(s)
}

// gemmRunParallel hands the items out to workers as they finish the last
// one (dynamic scheduling: a busy core simply takes fewer items). Worker w
// starts each sweep over its tiles w/workers of the way along, so that with
// a lazily packed B the workers pack different panels at the same time
// instead of waiting on one another. The call's shared state comes from a
// free list, so a warm call allocates nothing.
func gemmRunParallel(g *gemmCall, p gemmPlan, items, workers int) {
	s := gemmParPool.get()
	if s == nil {
		s = &gemmPar{}
	}
	s.g, s.p, s.items, s.workers = *g, p, items, workers
	s.next.Store(0)
	s.join.Run(s, workers)
	s.g = gemmCall{} // keep none of the caller's slices
	gemmParPool.put(s)
}

// gemmPar is one parallel GEMM call's state, shared by its workers.
type gemmPar struct {
	g              gemmCall
	p              gemmPlan
	items, workers int
	next           atomic.Int64
	join           Join
}

var gemmParPool freeList[gemmPar]

// Run claims and computes items until none are left (worker w).
func (s *gemmPar) Run(w int) {
	g, p := &s.g, &s.p
	sc := getScratch(g.packLen(p), p.mk.mr*p.mk.nr)
	for {
		it := int(s.next.Add(1)) - 1
		if it >= s.items {
			break
		}
		g.runItem(p, sc, it/p.colChunks, it%p.colChunks, float64(w)/float64(s.workers))
	}
	gemmScratchPool.put(sc)
}

// runItem computes one row block × column chunk of C: for each K block,
// pack that slice of A once (unless the kernels read it in place), then
// sweep the tiles, B panel outer, so each B panel is read from memory once
// per row block and its row tiles reuse it from L2. At kc=768 neither fits
// L1 (a 32-column B panel is 96 KiB, a 14-row slice of A 42 KiB): every K
// step streams both from L2, and the only help is the kernel's prefetch of
// the next tile column's B (pf).
//
// start (in [0, 1)) rotates where the sweep over the chunk's tiles begins;
// the order of tiles never changes a tile's result.
func (g *gemmCall) runItem(p *gemmPlan, s *gemmScratch, rb, cc int, start float64) {
	mk := p.mk
	nr := mk.nr
	i0, i1 := rb*p.mc, min((rb+1)*p.mc, g.m)
	j0, j1 := cc*p.chunkCols, min((cc+1)*p.chunkCols, g.n)
	k := g.k
	ahead := g.bfAhead()
	if g.bf != nil {
		slots := 1
		if ahead {
			slots = 2 // the current tile's panels and the next one's
		}
		s.wb = grow(s.wb, slots*2*p.kc*gemmPanel)
		s.ahead = bfTile{}
	}
	ep := &g.ep
	hasEp := ep.Bias != nil || ep.Act != ActNone || ep.Residual != nil
	// fuse: full tiles of the last K block get the bias (and the residual
	// unless an activation comes between) added in the kernel's registers.
	fuse := mk.fusedEp && hasEp
	direct := g.direct()
	tiles := (j1 - j0 + nr - 1) / nr
	first := int(start * float64(tiles))
	col := func(t int) int { return j0 + (first+t)%tiles*nr }
	for p0 := 0; p0 < k; p0 += p.kc {
		kc := min(p.kc, k-p0)
		if !direct {
			packA(mk, s.a, g.transA, g.a, g.lda, g.alpha, g.m, i0, i1-i0, p0, kc)
		}
		for t := 0; t < tiles; t++ {
			j := col(t)
			var next nextB
			var cur, nextTile bfTile
			switch {
			case t+1 < tiles:
				next = g.panelsAt(p, j1, col(t+1), p0, kc)
				if ahead {
					nextTile = g.bfTileAt(nr, j1, col(t+1), p0, kc)
				}
			case p0+kc < k:
				next = g.panelsAt(p, j1, col(0), p0+kc, min(p.kc, k-p0-kc))
				if ahead {
					nextTile = g.bfTileAt(nr, j1, col(0), p0+kc, min(p.kc, k-p0-kc))
				}
			}
			if ahead {
				cur = g.bfTileAt(nr, j1, j, p0, kc)
			}
			g.tileColumn(p, s, i0, i1, j, min(nr, j1-j), p0, kc, direct, fuse, hasEp, next, cur, nextTile)
		}
		if p0+kc == k && ep.Act != ActNone && g.tileAct() == nil {
			g.finishRows(i0, i1, j0, j1)
		}
	}
}

// tileColumn runs the row tiles [i0, i1) of the tile column at j (w
// columns) over the K block [p0, p0+kc); next is the B the sweep reads
// after it, which the kernels prefetch.
//
// With bfloat16 weights widened ahead (cur set), the column's panels
// come from cur, and the row tiles widen nextTile's in turn.
func (g *gemmCall) tileColumn(p *gemmPlan, s *gemmScratch, i0, i1, j, w, p0, kc int, direct, fuse, hasEp bool, next nextB, cur, nextTile bfTile) {
	mk := p.mk
	mr, nr := mk.mr, mk.nr
	ep := &g.ep
	last := p0+kc == g.k
	var act func(c *float32, ldc, rows, cols int)
	if last {
		act = g.tileAct()
	}
	add := 0
	if p0 > 0 || g.beta != 0 {
		add = 1
	}
	q := j / gemmPanel
	var b0, b1 *float32
	rowTiles := 0
	switch {
	case cur.set:
		b0, b1 = g.bfBegin(s, p.kc, cur, nextTile)
		for i := i0; i < i1; i += tileRows(mr, i1-i) {
			rowTiles++
		}
	case g.bf != nil:
		b0, b1 = g.widenTile(s.wb, q, nr, p0, kc)
	default:
		data, panelLen := g.pb.data, g.pb.panelLen()
		if g.lazy != nil {
			g.lazy.panel(q, p0)
		}
		b0 = &data[q*panelLen+p0*gemmPanel]
		b1 = b0
		if nr > gemmPanel && q+1 < g.pb.panels() {
			if g.lazy != nil {
				g.lazy.panel(q+1, p0)
			}
			b1 = &data[(q+1)*panelLen+p0*gemmPanel]
		}
	}
	h := 0
	for r, i := 0, i0; i < i1; r, i = r+1, i+h {
		if r > 0 && rowTiles > 0 {
			g.bfStep(s, p.kc, r-1, rowTiles) // after the row tile before
		}
		h = tileRows(mr, i1-i)
		if p0 == 0 && g.beta != 0 && g.beta != 1 {
			g.scaleTile(i, h, j, w)
		}
		a := g.tileA(s, direct, r, i, p0, kc)
		if w == nr {
			if last && fuse {
				s.ep = tileEpilogue{}
				if ep.Bias != nil {
					s.ep.bias = &ep.Bias[j]
				}
				if ep.Residual != nil && ep.Act == ActNone {
					s.ep.res, s.ep.ldr = &ep.Residual[i*ep.LDR+j], ep.LDR
				}
				g.micro(direct, h, kc, a, b0, b1, &g.c[i*g.ldc+j], g.ldc, add, &s.ep, next.at(mk, r, kc, b0))
				if act != nil {
					act(&g.c[i*g.ldc+j], g.ldc, h, nr)
				}
				continue
			}
			g.micro(direct, h, kc, a, b0, b1, &g.c[i*g.ldc+j], g.ldc, add, nil, next.at(mk, r, kc, b0))
		} else {
			// Right edge: compute the full tile into scratch,
			// then merge the columns that exist.
			g.micro(direct, h, kc, a, b0, b1, &s.tile[0], nr, 0, nil, next.at(mk, r, kc, b0))
			g.mergeTile(s.tile, nr, i, h, j, w, add)
		}
		if last && hasEp {
			g.tileBias(i, h, j, w)
			if act != nil {
				act(&g.c[i*g.ldc+j], g.ldc, h, w)
			}
		}
	}
	if rowTiles > 0 {
		g.bfStep(s, p.kc, rowTiles-1, rowTiles)
	}
}

// bf16RowBlock is GemmBF16's row block on mk's widened tiles. Each row
// block widens its tiles' bfloat16 panels again: half again as many rows
// per block (a 197-token ViT-B/16 product is one block) widens less
// often, while the packed A block (252×768 floats at avx512) still fits a
// 1 MB L2 beside the B panels. The plan never changes the bits.
func bf16RowBlock(mk *gemmMicro) int {
	return roundUp(mk.mc*3/2, mk.mr)
}

// tileAct is the level's actTile for the call's activation when each
// tile can take it as it is stored: no residual (which comes after the
// activation: finishRows adds it row by row). Widened bfloat16 weights
// take it too: their tiles are stored by the same kernels.
func (g *gemmCall) tileAct() func(c *float32, ldc, rows, cols int) {
	if g.ep.Residual != nil {
		return nil
	}
	return g.mk.actTile[g.ep.Act]
}

// direct reports whether the call reads A in place rather than packing
// it: the level has the kernels, A needs neither a transpose nor a scale,
// and a row tile's rows do not crowd one L1 set. Packing cost ~2% of a
// ViT-B/16 forward (an 8×8 transpose per block of every K block); the
// direct kernels read the same values.
func (g *gemmCall) direct() bool {
	return g.mk.kernelA != nil && !g.transA && g.alpha == 1 && l1SetRows(g.lda, g.mk.mr) <= l1Ways
}

// The L1 data caches the kernels run on (Zen 3/4, Intel since Skylake,
// Apple and Neoverse cores) index 64 sets of 64-byte lines, so addresses
// 4 KiB apart share a set, and hold at least 8 lines a set.
const (
	l1SetSpan = 64 * 64
	l1Ways    = 8
)

// l1SetRows is the most lines that the rows of an mr-row tile, lda floats
// apart, read at once from one L1 set. The kernel walks all mr rows
// together along K, so more such lines than the set has ways evict each
// other at every step: a 14-row tile of a 3072- or 1024-wide A (rows 12
// or 4 KiB apart) put every row in one set and read A from L2.
func l1SetRows(lda, mr int) int {
	var lines [l1SetSpan / 64]int
	most, last := 0, -1
	for i := range mr {
		line := i * lda * 4 / 64
		if line == last {
			continue // rows within one line share it
		}
		last = line
		s := line % len(lines)
		lines[s]++
		most = max(most, lines[s])
	}
	return most
}

// packLen is the room a worker needs for a packed block of A: none when
// the kernels read A in place.
func (g *gemmCall) packLen(p *gemmPlan) int {
	if g.direct() {
		return 0
	}
	return p.mc*p.kc + gemmPackSlack
}

// tileA is the A a row tile's kernel reads: the tile's first row at K
// step p0 in place (direct), or panel r of the packed block.
func (g *gemmCall) tileA(s *gemmScratch, direct bool, r, i, p0, kc int) *float32 {
	if direct {
		return &g.a[i*g.lda+p0]
	}
	return &s.a[r*g.mk.mr*kc]
}

// micro runs the h-row kernel on A from tileA.
func (g *gemmCall) micro(direct bool, h, kc int, a, b0, b1, c *float32, ldc, add int, ep *tileEpilogue, pf *float32) {
	if direct {
		g.mk.kernelA[h-1](kc, a, g.lda, b0, b1, c, ldc, add, ep, pf)
		return
	}
	g.mk.kernel[h-1](kc, a, b0, b1, c, ldc, add, ep, pf)
}

// nextB is the packed B the sweep reads after the current tile column: up
// to two panel slices (the column's one or two panels over the K block),
// which the row tiles of the current column prefetch in turn, each the
// stretch its kernel's pf stream covers.
type nextB struct {
	part [2][]float32
}

// panelsAt is the B of the tile column at j (of a chunk ending at j1)
// over the K block [p0, p0+kc): the one or two panel slices its kernels
// read, for the kernels before it to prefetch. A lazily packed B is not
// prefetched (those panels may not be packed yet).
func (g *gemmCall) panelsAt(p *gemmPlan, j1, j, p0, kc int) nextB {
	var nb nextB
	if p.mk.pfLines == 0 || g.lazy != nil {
		return nb
	}
	data, panelLen, panels := g.pb.data, g.pb.panelLen(), g.pb.panels()
	q := j / gemmPanel
	if g.bf != nil {
		if gemmPanel != qPanel {
			return nb // q counts float32 panels, not the bfloat16 ones
		}
		// The next tile's bfloat16 panels, which widenTile reads next.
		nb.part[0] = g.bf.rawPanel(q, p0, kc)
		if p.mk.nr > gemmPanel && q+1 < panels && (q+1)*gemmPanel < j1 {
			nb.part[1] = g.bf.rawPanel(q+1, p0, kc)
		}
		return nb
	}
	nb.part[0] = data[q*panelLen+p0*gemmPanel:][:kc*gemmPanel]
	if p.mk.nr > gemmPanel && q+1 < panels && (q+1)*gemmPanel < j1 {
		nb.part[1] = data[(q+1)*panelLen+p0*gemmPanel:][:kc*gemmPanel]
	}
	return nb
}

// at is pf for row tile r of the current column, whose kernel runs kc K
// steps: the r-th stretch of the next panels, or the tile's own panel (a
// harmless hint: it is already cached) once they are covered.
func (nb *nextB) at(mk *gemmMicro, r, kc int, own *float32) *float32 {
	span := kc / 4 * mk.pfLines * 16 // floats one kernel call prefetches
	if span == 0 {
		return own
	}
	off := r * span
	for _, part := range nb.part {
		if off < len(part) {
			if off+span > len(part) {
				off = len(part) - span // stay inside the slice
				if off < 0 {
					return own
				}
			}
			return &part[off]
		}
		off -= len(part)
	}
	return own
}

func (g *gemmCall) scaleTile(i, h, j, w int) {
	for r := i; r < i+h; r++ {
		row := g.c[r*g.ldc+j : r*g.ldc+j+w]
		for x := range row {
			row[x] *= g.beta
		}
	}
}

func (g *gemmCall) mergeTile(t []float32, ldt, i, h, j, w, add int) {
	for r := 0; r < h; r++ {
		row := g.c[(i+r)*g.ldc+j : (i+r)*g.ldc+j+w]
		src := t[r*ldt : r*ldt+w]
		if add == 0 {
			copy(row, src)
			continue
		}
		for x, v := range src {
			row[x] += v
		}
	}
}

// finishTile applies the whole epilogue to a finished h×w tile at (i, j).
func (g *gemmCall) finishTile(i, h, j, w int) {
	if g.ep.Bias == nil && g.ep.Act == ActNone && g.ep.Residual == nil {
		return
	}
	g.tileBias(i, h, j, w)
	if g.ep.Act != ActNone {
		g.finishRows(i, i+h, j, j+w)
	}
}

// tileBias applies to a stored h×w tile what a fused kernel applies in
// registers: the bias, then the residual unless an activation comes
// between (finishRows adds it after the activation).
func (g *gemmCall) tileBias(i, h, j, w int) {
	ep := &g.ep
	res := ep.Residual != nil && ep.Act == ActNone
	if ep.Bias == nil && !res {
		return
	}
	for r := i; r < i+h; r++ {
		row := g.c[r*g.ldc+j : r*g.ldc+j+w]
		if ep.Bias != nil {
			Add(row, row, ep.Bias[j:j+w])
		}
		if res {
			Add(row, row, ep.Residual[r*ep.LDR+j:r*ep.LDR+j+w])
		}
	}
}

// finishRows applies the activation, then the residual, to rows [i0, i1)
// × columns [j0, j1) once every tile there has its bias. It runs once per
// row of a work item rather than once per tile row: each activation call
// loads a dozen constants and handles a masked tail, a fifth of the GELU
// time of ViT-B/16 when calls covered 16 columns. The rows are still in
// L2.
func (g *gemmCall) finishRows(i0, i1, j0, j1 int) {
	ep := &g.ep
	for r := i0; r < i1; r++ {
		row := g.c[r*g.ldc+j0 : r*g.ldc+j1]
		Activate(ep.Act, row, row)
		if ep.Residual != nil {
			Add(row, row, ep.Residual[r*ep.LDR+j0:r*ep.LDR+j1])
		}
	}
}

// tilesIntoC reports whether the int8 and bfloat16 drivers may store
// whole tiles straight into C with their kernelC (sum + bias, dequantised
// for int8): ep has a bias and no residual, or C itself as the residual
// with no activation before it (what their per-row finish would add
// after the bias), and whether the tiles then add C's own value.
func tilesIntoC(ep *Epilogue, c []float32, ldc int) (ok bool, addC int) {
	switch {
	case ep.Bias == nil:
		return false, 0
	case ep.Residual == nil:
		return true, 0
	case ep.Act == ActNone && sameMatrix(ep.Residual, ep.LDR, c, ldc):
		return true, 1
	}
	return false, 0
}

// lateAct is the int8 and bfloat16 drivers' finishRows: when an epilogue
// has an activation and no residual, their tiles store act's input and
// the activation runs here once per row of the work item [i0, i1) × [j0,
// j1) (with a residual it runs per tile row, before the residual).
func lateAct(ep *Epilogue, c []float32, ldc, i0, i1, j0, j1 int) {
	if ep.Act == ActNone || ep.Residual != nil {
		return
	}
	for r := i0; r < i1; r++ {
		row := c[r*ldc+j0 : r*ldc+j1]
		Activate(ep.Act, row, row)
	}
}

// noReduction handles K == 0: op(A)·op(B) is all zeros.
func (g *gemmCall) noReduction() {
	for i := 0; i < g.m; i++ {
		row := g.c[i*g.ldc : i*g.ldc+g.n]
		switch g.beta {
		case 0:
			clear(row)
		case 1:
		default:
			for x := range row {
				row[x] *= g.beta
			}
		}
	}
	for i := 0; i < g.m; i++ {
		g.finishTile(i, 1, 0, g.n)
	}
}

// emptyProduct is C = act(bias) + residual: a product over K = 0, for the
// int8 and bf16 GEMMs (GemmPacked reaches noReduction through gemmRun).
func emptyProduct(m, n int, c []float32, ldc int, ep Epilogue) {
	g := &gemmCall{m: m, n: n, k: 0, c: c, ldc: ldc, ep: ep}
	if ep.Residual != nil && overlaps(ep.Residual, c) {
		if sameMatrix(ep.Residual, ep.LDR, c, ldc) && ep.Act == ActNone {
			g.beta, g.ep.Residual = 1, nil // C holds the residual already
		} else {
			g.ep.Residual, g.ep.LDR = copyMatrix(ep.Residual, m, n, ep.LDR), n
		}
	}
	g.noReduction()
}

// parallelFor runs f(0) … f(n-1) on up to threads goroutines (the caller's
// included), each taking the next index as it finishes the last.
func parallelFor(threads, n int, f func(i int)) {
	if threads <= 1 || n <= 1 {
		for i := range n {
			f(i)
		}
		return
	}
	workers := min(threads, n)
	var next atomic.Int64
	work := func(int) {
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			f(i)
		}
	}
	var j Join
	j.Run(funcTask(work), workers)
}

// Parallel runs f(0) … f(n-1) on up to t goroutines, the caller's
// included, each taking the next index as it finishes the last: the one
// transient parallel loop, for work done once (packing, resizing a
// checkpoint) rather than per forward pass (models keep a worker pool,
// nn.Workers). The result must not depend on which goroutine runs an index.
func Parallel(t Threads, n int, f func(i int)) { parallelFor(t.n(), n, f) }
