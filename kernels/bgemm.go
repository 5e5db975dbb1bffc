package kernels

import (
	"math"
	"unsafe"
)

// bfloat16 weights: C = act(A·B + bias) + residual with B stored as
// bfloat16 (half the memory of float32). The activations stay float32:
//
//   - At the avx512 and avx2 levels (and generic, neon), each column
//     tile's panels are widened to float32 (a bfloat16 is the top half of
//     a float32: exact) once per K block into a per-worker scratch panel
//     in PackedB's layout, and the level's float32 GEMM kernels run over
//     all the row tiles of the block (gemmCall.bf): the bits of
//     GemmPacked on the widened weight. The next tile's panels are
//     widened in pieces between the current tile's row tiles
//     (bgemm_ahead.go). Widening in registers inside the
//     K loop instead (12×32 and 5×16 FMA kernels, removed) ran at
//     0.75-0.85× float32: the widening competed with the FMAs in every
//     row tile, and those kernels lacked the float32 prefetch.
//   - A VDPBF16PS kernel (AVX512-BF16), which also rounds A to bfloat16
//     (VCVTNEPS2BF16) and, for each pair (k, k+1), computes
//     acc = (acc + a[k+1]·b[k+1]) + a[k]·b[k]: the avx512 level's choice
//     on AMD's cores, where it does twice the multiplies of FMA per
//     cycle; on the Xeons measured it was slower (bPreferDot).
//   - At the amx level, activations are rounded to bfloat16 per row block
//     (VCVTNEPS2BF16, as ToBF16) and TDPBF16PS multiplies 16×32 tiles of
//     them by the packed panels, loaded as 16×16-pair tiles directly,
//     accumulating in float32 (amxDotBF16). Like VDPBF16PS it rounds A
//     too: results are close to, not the bits of, the widening path.
//
// All split work over rows and columns of C, never over K: the result
// does not depend on the thread count.

// BF16B is a right-hand operand (K×N, typically a Linear weight) stored as
// bfloat16 for GemmBF16. It is read-only after construction and safe for
// concurrent use.
//
// Layout: column panels of qPanel columns (N padded with zeros to a
// multiple of qNPad); within a panel, K runs in pairs, each pair holding
// qPanel columns × 2 consecutive k values (64 bytes), which is what
// VDPBF16PS multiplies against one broadcast pair of A. K is padded with
// zeros to a multiple of bKPad: 16 pairs of a panel are then one 16×64-byte
// AMX tile, for every K step of the AMX kernel (the other kernels stop at
// the last pair that holds weights).
type BF16B struct {
	K, N   int
	kp, np int // K rounded up to bKPad, N to qNPad
	data   []uint16
	shape  PackedB // K×N without data, for the float32 driver (no allocation per call)
}

const bKPad = 32

// ToBF16 rounds a float32 to bfloat16 bits as VCVTNEPS2BF16 does: to
// nearest even, a denormal to zero of the same sign, a NaN to a quiet NaN.
func ToBF16(v float32) uint16 {
	u := math.Float32bits(v)
	switch {
	case u&0x7fffffff > 0x7f800000: // NaN
		return uint16(u>>16) | 0x40
	case u&0x7f800000 == 0: // zero or denormal
		return uint16(u>>16) & 0x8000
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// FromBF16 widens bfloat16 bits to float32 (exactly).
func FromBF16(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// NewBF16B rounds a PyTorch [n, k] weight (rows of length k, row stride
// ld) to bfloat16 and packs it for GemmBF16.
func NewBF16B(k, n int, w []float32, ld int) *BF16B {
	checkMatrix("W", w, false, n, k, ld)
	p := &BF16B{K: k, N: n, kp: roundUp(k, bKPad), np: roundUp(n, qNPad)}
	p.shape = PackedB{K: k, N: n}
	p.data = make([]uint16, p.np*p.kp)
	panelLen := p.kp * qPanel
	for j := 0; j < n && k > 0; j++ { // K = 0: nothing to pack
		d := p.data[j/qPanel*panelLen+j%qPanel*2:]
		for kk, v := range w[j*ld : j*ld+k] {
			d[kk/2*qPanel*2+kk%2] = ToBF16(v)
		}
	}
	return p
}

// Bytes is the memory the packed weight holds.
func (p *BF16B) Bytes() int { return 2 * len(p.data) }

// rawPanel is rows [p0, p0+kc) of panel q as stored (bfloat16 pairs),
// viewed as float32 for a prefetch hint (gemmMicro's pf): p0·qPanel is
// even, so the view starts on a 4-byte boundary inside the panel.
func (p *BF16B) rawPanel(q, p0, kc int) []float32 {
	d := p.data[q*p.kp*qPanel+p0*qPanel:][:kc*qPanel]
	return unsafe.Slice((*float32)(unsafe.Pointer(&d[0])), len(d)/2)
}

// bWiden widens whole pairs of a panel: src holds len(dst)/32 pairs of
// qPanel columns × 2 steps of K ([c0k0, c0k1, c1k0, c1k1, …]), dst gets
// them as 2 rows of qPanel float32 each, in PackedB's panel layout. Set
// by dispatch; widenPairsGo is its specification.
var bWiden = widenPairsGo

func widenPairsGo(dst []float32, src []uint16) {
	for g := 0; g < len(dst)/(2*qPanel); g++ {
		// Array pointers: no bounds checks in the inner loop (it is the
		// generic level's whole cost of bfloat16 weights).
		s := (*[2 * qPanel]uint16)(src[g*2*qPanel:])
		d := (*[2 * qPanel]float32)(dst[g*2*qPanel:])
		for c := 0; c < qPanel; c++ {
			d[c] = FromBF16(s[2*c])
			d[qPanel+c] = FromBF16(s[2*c+1])
		}
	}
}

// widenPanel writes rows [p0, p0+kc) of a bfloat16 panel (its whole
// stored pairs) into dst as kc rows of qPanel float32: PackedB's layout.
// An odd p0 or p0+kc splits a pair: that row is widened here in Go.
func widenPanel(dst []float32, panel []uint16, p0, kc int) {
	d := dst[:kc*qPanel]
	k, end := p0, p0+kc
	if k%2 == 1 { // the odd half of the first pair
		s := panel[k/2*2*qPanel:][:2*qPanel]
		for c := range qPanel {
			d[c] = FromBF16(s[2*c+1])
		}
		d, k = d[qPanel:], k+1
	}
	if pairs := (end - k) / 2; pairs > 0 {
		bWiden(d[:pairs*2*qPanel], panel[k/2*2*qPanel:][:pairs*2*qPanel])
		d, k = d[pairs*2*qPanel:], k+2*pairs
	}
	if k < end { // the even half of the last pair
		s := panel[k/2*2*qPanel:][:2*qPanel]
		for c := range qPanel {
			d[c] = FromBF16(s[2*c])
		}
	}
}

// widenColumns writes rows [p0, p0+kc) of columns [j0, j0+gemmPanel) into
// dst as kc rows of gemmPanel float32 (PackedB's panel layout), columns
// past the stored ones as zeros: the general form of widenPanel, for
// builds whose float32 panel width is not qPanel.
func (p *BF16B) widenColumns(dst []float32, j0, p0, kc int) {
	panelLen := p.kp * qPanel
	for c := range gemmPanel {
		j := j0 + c
		if j >= p.np {
			for r := range kc {
				dst[r*gemmPanel+c] = 0
			}
			continue
		}
		col := p.data[j/qPanel*panelLen+j%qPanel*2:]
		for r := range kc {
			k := p0 + r
			dst[r*gemmPanel+c] = FromBF16(col[k/2*qPanel*2+k%2])
		}
	}
}

// widenTile widens rows [p0, p0+kc) of panel q (and q+1 when the tile is
// two panels wide and that panel holds columns) into wb, and returns the
// panels as the float32 micro-kernel takes them (b1 = b0 past the last
// panel, as GemmPacked does).
func (g *gemmCall) widenTile(wb []float32, q, nr, p0, kc int) (b0, b1 *float32) {
	bf := g.bf
	if gemmPanel != qPanel {
		// The build's float32 panels are narrower than the bfloat16 ones
		// (arm64: 12 columns against 16): gather each column instead.
		bf.widenColumns(wb[:kc*gemmPanel], q*gemmPanel, p0, kc)
		b0, b1 = &wb[0], &wb[0]
		if nr > gemmPanel && q+1 < panelsOf(g.n) {
			bf.widenColumns(wb[kc*gemmPanel:2*kc*gemmPanel], (q+1)*gemmPanel, p0, kc)
			b1 = &wb[kc*gemmPanel]
		}
		return b0, b1
	}
	panelLen := bf.kp * qPanel
	widenPanel(wb[:kc*qPanel], bf.data[q*panelLen:(q+1)*panelLen], p0, kc)
	b0, b1 = &wb[0], &wb[0]
	if nr > gemmPanel && q+1 < panelsOf(g.n) {
		widenPanel(wb[kc*qPanel:2*kc*qPanel], bf.data[(q+1)*panelLen:(q+2)*panelLen], p0, kc)
		b1 = &wb[kc*qPanel]
	}
	return b0, b1
}

// bMicro is a micro-kernel for bfloat16 weights: an mr×nr float32 tile t
// (row stride nr) from packed panels ldb elements apart, kernel (with
// convert): kp/2 pairs of steps of K from bfloat16 rows of A (lda
// elements apart), VDPBF16PS (bdotTileGo).
type bMicro struct {
	mr, nr int
	kernel func(kpairs int, a *uint16, lda int, b *uint16, ldb int, t *float32)
	// kernelC, when set, is kernel storing a whole tile straight into C
	// as sum + bias (+ C's own value when addC ≠ 0), the bits of
	// finishRow's two Adds, without the tile's round trip.
	kernelC func(kpairs int, a *uint16, lda int, b *uint16, ldb int, c *float32, ldc int, bias *float32, addC int)
	convert func(dst []uint16, src []float32)
	// amx, when set (with convert), replaces kernel with the AMX block
	// kernel amxDotBF16 (strides in bytes): a row block × up to qAMXCols
	// columns per call; mr and nr are then its row (16) and column (32)
	// granularity.
	amx func(kb int, a *uint16, lda int, b *uint16, ldb int, t *float32, ldt int, rows, cols int, pf *uint16, pfn int, pfLast *uint16)
	// add is Add for the epilogue's bias and residual (nil: Add); any
	// implementation gives Add's bits (one rounded addition each).
	add func(dst, a, b []float32)
}

// bLevel is the VDPBF16PS or AMX kernel when the level uses one, else nil
// (widened tiles on the float32 kernels).
var bLevel *bMicro

// bdotTileGo is the specification of bMicro.kernel (used by tests; the
// denormal handling of VDPBF16PS, flush to zero, is not modelled).
func bdotTileGo(mr, nr, kpairs int, a []uint16, lda int, b []uint16, ldb int, t []float32) {
	for r := 0; r < mr; r++ {
		for j := 0; j < nr; j++ {
			pb := b[j/qPanel*ldb+j%qPanel*2:]
			var acc float32
			for g := 0; g < kpairs; g++ {
				a0, a1 := FromBF16(a[r*lda+2*g]), FromBF16(a[r*lda+2*g+1])
				b0, b1 := FromBF16(pb[g*qPanel*2]), FromBF16(pb[g*qPanel*2+1])
				acc = float32(acc + a1*b1)
				acc = float32(acc + a0*b0)
			}
			t[r*nr+j] = acc
		}
	}
}

func convertBF16Go(dst []uint16, src []float32) {
	for i, v := range src {
		dst[i] = ToBF16(v)
	}
}

// GemmBF16 computes C = act(A·B + bias) + residual with B in bfloat16
// (see the comment at the top of this file). A is M×K (row stride lda), C
// M×N (row stride ldc); the residual may be C itself.
func GemmBF16(t Threads, m int, a []float32, lda int, pb *BF16B, c []float32, ldc int, ep Epilogue) {
	checkMatrix("A", a, false, m, pb.K, lda)
	checkMatrix("C", c, false, m, pb.N, ldc)
	checkEpilogue(ep, m, pb.N)
	if m == 0 || pb.N == 0 {
		return
	}
	if pb.K == 0 {
		emptyProduct(m, pb.N, c, ldc, ep)
		return
	}
	if ep.Residual != nil && overlaps(ep.Residual, c) && !sameMatrix(ep.Residual, ep.LDR, c, ldc) {
		ep.Residual = copyMatrix(ep.Residual, m, pb.N, ep.LDR)
		ep.LDR = pb.N
	}
	if mk := bLevel; mk != nil && pb.K > 0 {
		bgemmDot(mk, t.n(), m, a, lda, pb, c, ldc, ep)
		return
	}
	// The level's float32 GEMM, each tile's panels widened once per K
	// block into scratch (gemmCall.bf): the widening stays out of the
	// K loop, and the product gets the float32 kernels' prefetch and
	// fused epilogue.
	gemmPacked(t, m, a, lda, &pb.shape, pb, c, ldc, ep)
}

// bCall is one GemmBF16 call on the VDPBF16PS kernel.
type bCall struct {
	mk               *bMicro
	m                int
	a                []float32
	lda              int
	pb               *BF16B
	c                []float32
	ldc              int
	ep               Epilogue
	ab               []uint16 // A in bfloat16, rows padded to the row blocks
	mc, rowBlocks    int
	chunk, colChunks int
}

type bScratch struct {
	a      []uint16
	single bLocal
}

type bLocal struct {
	tile, row []float32
}

var (
	bScratchPool freeList[bScratch]
	bLocalPool   freeList[bLocal]
)

func (l *bLocal) size(mk *bMicro, mc int) {
	if mk.amx != nil {
		l.tile = grow(l.tile, mc*qAMXCols)
		l.row = grow(l.row, qAMXCols)
	} else {
		l.tile = grow(l.tile, mk.mr*mk.nr)
		l.row = grow(l.row, mk.nr)
	}
}

func bgemmDot(mk *bMicro, threads, m int, a []float32, lda int, pb *BF16B, c []float32, ldc int, ep Epilogue) {
	g := bCall{mk: mk, m: m, a: a, lda: lda, pb: pb, c: c, ldc: ldc, ep: ep}
	if mk.amx != nil {
		g.mc, g.rowBlocks, g.chunk, g.colChunks = planAMX(threads, m, pb.N)
	} else {
		g.mc, g.rowBlocks, g.chunk, g.colChunks = planTiles(threads, m, pb.N, mk.mr, mk.nr)
	}
	s := bScratchPool.get()
	if s == nil {
		s = &bScratch{}
	}
	s.a = grow(s.a, g.rowBlocks*g.mc*pb.kp)
	g.ab = s.a
	if threads <= 1 || g.rowBlocks*g.colChunks == 1 {
		s.single.size(mk, g.mc)
		for rb := 0; rb < g.rowBlocks; rb++ {
			g.convertRows(rb)
		}
		for it := 0; it < g.rowBlocks*g.colChunks; it++ {
			g.runItem(&s.single, it/g.colChunks, it%g.colChunks)
		}
	} else {
		g.runParallel(threads)
	}
	bScratchPool.put(s)
}

// runParallel runs the call on up to threads goroutines: the rows are
// converted, then the items computed (runPhased).
func (g *bCall) runParallel(threads int) { runPhased(&bParPool, *g, threads) }

var bParPool freeList[phasedPar[bCall, bLocal, *bCall]]

func (g *bCall) counts() (int, int) { return g.rowBlocks, g.rowBlocks * g.colChunks }
func (g *bCall) prepare(rb int)     { g.convertRows(rb) }
func (g *bCall) item(tl *bLocal, it int) {
	g.runItem(tl, it/g.colChunks, it%g.colChunks)
}
func (g *bCall) release(tl *bLocal) { bLocalPool.put(tl) }

func (g *bCall) local() *bLocal {
	tl := bLocalPool.get()
	if tl == nil {
		tl = &bLocal{}
	}
	tl.size(g.mk, g.mc)
	return tl
}

func (g *bCall) convertRows(rb int) {
	kp, k := g.pb.kp, g.pb.K
	for i := rb * g.mc; i < (rb+1)*g.mc; i++ {
		d := g.ab[i*kp : i*kp+kp]
		if i >= g.m {
			clear(d)
			continue
		}
		g.mk.convert(d[:k], g.a[i*g.lda:i*g.lda+k])
		clear(d[k:])
	}
}

// runItemAMX computes one row block × column chunk with the AMX block
// kernel, up to qAMXCols columns per call, each call prefetching the
// panels of the next (see qCall.runItemAMX).
func (g *bCall) runItemAMX(tl *bLocal, rb, cc int) {
	pb := g.pb
	kp := pb.kp
	panelLen := kp * qPanel
	i0, i1 := rb*g.mc, min((rb+1)*g.mc, g.m)
	rows := roundUp(i1-i0, 16) // rows past M are zeros in g.ab
	j0, j1 := cc*g.chunk, min((cc+1)*g.chunk, pb.N)
	last := &pb.data[len(pb.data)-1]
	for j := j0; j < j1; j += qAMXCols {
		w := min(qAMXCols, j1-j)
		cols := roundUp(w, 32) // N is padded to qNPad = 64
		pf, pfn := amxNext(pb.data, panelLen, j+cols, j0, j1, rows, cols, kp/bKPad)
		g.mk.amx(kp/bKPad, &g.ab[i0*kp], 2*kp, &pb.data[j/qPanel*panelLen], 2*panelLen, &tl.tile[0], 4*cols, rows, cols, pf, pfn, last)
		for r := i0; r < i1; r++ {
			g.finishRow(tl, tl.tile[(r-i0)*cols:(r-i0)*cols+w], r, j)
		}
	}
	lateAct(&g.ep, g.c, g.ldc, i0, i1, j0, j1)
}

// finishRow applies the epilogue to one row of sums acc at (row, j),
// straight into C unless the residual is C itself.
func (g *bCall) finishRow(tl *bLocal, acc []float32, row, j int) {
	ep := &g.ep
	w := len(acc)
	dst := g.c[row*g.ldc+j : row*g.ldc+j+w]
	out := dst
	if ep.Residual != nil && sameMatrix(ep.Residual, ep.LDR, g.c, g.ldc) {
		out = tl.row[:w]
	}
	add := g.mk.add
	if add == nil {
		add = Add
	}
	if ep.Bias != nil {
		add(out, acc, ep.Bias[j:j+w])
	} else {
		copy(out, acc)
	}
	if ep.Residual != nil {
		// Without a residual the activation runs later, per row of the
		// work item (lateAct).
		if ep.Act != ActNone {
			Activate(ep.Act, out, out)
		}
		add(dst, out, ep.Residual[row*ep.LDR+j:row*ep.LDR+j+w])
	}
}

func (g *bCall) runItem(tl *bLocal, rb, cc int) {
	if g.mk.amx != nil {
		g.runItemAMX(tl, rb, cc)
		return
	}
	mk, pb := g.mk, g.pb
	mr, nr := mk.mr, mk.nr
	kp := pb.kp
	panelLen := kp * qPanel
	i0, i1 := rb*g.mc, min((rb+1)*g.mc, g.m)
	j0, j1 := cc*g.chunk, min((cc+1)*g.chunk, pb.N)
	direct, addC := g.directC()
	for j := j0; j < j1; j += nr {
		w := min(nr, j1-j)
		b := &pb.data[j/qPanel*panelLen]
		for i := i0; i < i1; i += mr {
			if direct && w == nr && i+mr <= i1 {
				mk.kernelC((pb.K+1)/2, &g.ab[i*kp], kp, b, panelLen, &g.c[i*g.ldc+j], g.ldc, &g.ep.Bias[j], addC)
				continue
			}
			mk.kernel((pb.K+1)/2, &g.ab[i*kp], kp, b, panelLen, &tl.tile[0])
			for r := 0; r < min(mr, i1-i); r++ {
				g.finishRow(tl, tl.tile[r*nr:r*nr+w], i+r, j)
			}
		}
	}
	lateAct(&g.ep, g.c, g.ldc, i0, i1, j0, j1)
}

// directC is tilesIntoC for the VDPBF16PS kernel.
func (g *bCall) directC() (ok bool, addC int) {
	if g.mk.kernelC == nil {
		return false, 0
	}
	return tilesIntoC(&g.ep, g.c, g.ldc)
}

// planTiles cuts an M×N product with mr×nr tiles into row blocks of mc
// rows and column chunks, enough pieces for threads workers.
func planTiles(threads, m, n, mr, nr int) (mc, rowBlocks, chunk, colChunks int) {
	// A row block of up to 96 rows keeps its packed rows in L2 while the
	// column tiles sweep past it.
	blocks := (m + 95) / 96
	if threads > 1 && blocks < 3*threads {
		blocks = max(blocks, min(3*threads, m/(2*mr)))
	}
	mc = roundUp((m+blocks-1)/blocks, mr)
	rowBlocks = (m + mc - 1) / mc
	tiles := (n + nr - 1) / nr
	chunks := 1
	if threads > 1 && rowBlocks < 2*threads {
		chunks = min(tiles, (3*threads+rowBlocks-1)/rowBlocks)
	}
	per := (tiles + chunks - 1) / chunks
	chunk = per * nr
	colChunks = (tiles + per - 1) / per
	return
}
