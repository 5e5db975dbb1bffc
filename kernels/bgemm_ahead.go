package kernels

// Widening a tile column's bfloat16 panels ahead, in pieces between the
// row tiles of the column before it (gemmCall.bf below the amx level).
// Widened in one go just before its row tiles, a tile's float32 scratch
// (96 KiB at avx512, kc = 768) was a burst of L2 stores that nothing
// overlapped; cut into one piece per row tile of the previous column,
// each piece is a few hundred instructions that the core runs beside the
// FMAs of the kernels around it (measured: bench/peers/README.md, "bf16
// widened ahead"). The widened values are the same and every kernel reads
// the same panels: the bits do not change.

// bWidenAhead turns the pipelined widening on (tests and benchmarks
// compare it with widening each tile just before its row tiles).
var bWidenAhead = true

// bfTile is one tile column's panels over a K block, widened (or being
// widened) into one of the two slots of the worker's scratch: rows
// [0, done) of the block are there.
type bfTile struct {
	q, p0, kc int
	two       bool // the tile spans panels q and q+1
	slot      int
	done      int
	set       bool
}

// bfAhead reports whether this call widens ahead: the float32 panels
// must be the bfloat16 ones (not arm64's 12 columns).
func (g *gemmCall) bfAhead() bool {
	return bWidenAhead && g.bf != nil && gemmPanel == qPanel
}

// bfTileAt is the tile column at j of a chunk ending at j1, over the K
// block [p0, p0+kc).
func (g *gemmCall) bfTileAt(nr, j1, j, p0, kc int) bfTile {
	q := j / gemmPanel
	return bfTile{q: q, p0: p0, kc: kc, set: true,
		two: nr > gemmPanel && q+1 < panelsOf(g.n) && (q+1)*gemmPanel < j1}
}

// bfSlot is slot s of the scratch: two panels of kcMax rows each.
func bfSlot(wb []float32, s, kcMax int) []float32 {
	return wb[s*2*kcMax*gemmPanel : (s+1)*2*kcMax*gemmPanel]
}

// widenTo widens rows [t.done, upTo) of the tile into its slot.
func (g *gemmCall) widenTo(t *bfTile, dst []float32, upTo int) {
	if upTo <= t.done {
		return
	}
	panelLen := g.bf.kp * qPanel
	r0, n := t.done, upTo-t.done
	widenPanel(dst[r0*qPanel:(r0+n)*qPanel], g.bf.data[t.q*panelLen:(t.q+1)*panelLen], t.p0+r0, n)
	if t.two {
		o := t.kc * qPanel
		widenPanel(dst[o+r0*qPanel:o+(r0+n)*qPanel], g.bf.data[(t.q+1)*panelLen:(t.q+2)*panelLen], t.p0+r0, n)
	}
	t.done = upTo
}

// bfBegin makes the current tile's panels whole in scratch (finishing
// what was widened ahead, or all of it) and sets up the next one in the
// other slot; it returns the current tile's panels as widenTile does.
func (g *gemmCall) bfBegin(s *gemmScratch, kcMax int, cur, next bfTile) (b0, b1 *float32) {
	if !(s.ahead.set && s.ahead.q == cur.q && s.ahead.p0 == cur.p0 && s.ahead.kc == cur.kc && s.ahead.two == cur.two) {
		s.ahead = cur // nothing widened ahead for it (the first tile of an item)
		s.ahead.slot = 0
	}
	cur = s.ahead
	dst := bfSlot(s.wb, cur.slot, kcMax)
	g.widenTo(&cur, dst, cur.kc)
	b0, b1 = &dst[0], &dst[0]
	if cur.two {
		b1 = &dst[cur.kc*qPanel]
	}
	s.ahead = bfTile{}
	if next.set {
		s.ahead = next
		s.ahead.slot = 1 - cur.slot
	}
	return b0, b1
}

// bfStep widens the next tile's share after row tile r of rows row tiles:
// up to (r+1)/rows of its K block, cut at whole pairs of K.
func (g *gemmCall) bfStep(s *gemmScratch, kcMax, r, rows int) {
	t := &s.ahead
	if !t.set {
		return
	}
	upTo := t.kc
	if r+1 < rows {
		upTo = t.kc * (r + 1) / rows
		if (t.p0+upTo)%2 == 1 {
			upTo++ // end on a whole pair
		}
	}
	g.widenTo(t, bfSlot(s.wb, t.slot, kcMax), upTo)
}
