package kernels

import (
	"math"
	"unsafe"
)

// The fused attention kernels: one call takes a panel of h ≤ mr query rows
// (packed as the GEMM A panel) through one key block of ≤ attnKeyBlock keys
// in three passes that stay in registers and L1:
//
//  1. scores: S = scale·Q·Kᵀ + bias, a register tile of mr × nr at a time
//     (the GEMM micro-kernel's K loop over the head dimension), stored to a
//     small row-major scratch (h × attnKeyBlock: 14 KB for AVX-512);
//  2. online softmax, row by row: the block's maximum, m' = max(m, it),
//     P = e^(S - m') in place, l = l·e^(m - m') + Σ P, the factor
//     α = e^(m - m') kept for pass 3 (a row whose m' is still -Inf, every
//     key so far masked, shifts by 0 so that P and α are 0, not NaN);
//     NEON adds the bias here rather than in pass 1, having no masked
//     loads for the block's last tile;
//  3. O = α·O + P·V: the output tile is loaded once per call, scaled by α
//     as it is loaded, and accumulates P·V over the block's keys with P
//     broadcast straight from the row-major scratch (no packing of P). On
//     the last key block (dst set) the tile goes to dst instead, times
//     1/l: the finished rows, written once (the AVX kernels; NEON leaves
//     dst to the driver).
//
// Compared with the GEMM-kernel path (attentionBlocks) this removes the
// packing of P, the separate rescale of O, and one Go call per tile. The
// assembly runs the passes with the same exp as the level's softmax.
// attnPanelGo is the same computation written plainly: its specification.

// attnKeyBlock is the most keys one fused call takes (the scratch row
// stride of the assembly, which addresses rows 1 KB apart).
const attnKeyBlock = 256

// attnArgs is one fused call's operands; the assembly reads the fields at
// the offsets TestAttnArgsLayout checks (q at 0 … scale at 120, alpha at 124, shift 188, sums 252,
// dst 320, ldd 328, inv 336, keep 400, dcol 464).
type attnArgs struct {
	q     *float32 // packed query panel: hd steps of mr values
	k     *float32 // the packed K panel holding the block's first key
	v     *float32 // packed V: panel 0 at the block's first key
	s     *float32 // scratch: h rows of attnKeyBlock scores
	o     *float32 // the panel's output rows (ldo bytes apart, ≥ roundUp(hd, nr) columns)
	bias  *float32 // bias row 0 at the block's first key, or attnZeros
	m     *float32 // running row maxima (h)
	l     *float32 // running row sums (h)
	hd    int      // head dimension ≥ 1
	kw    int      // keys in the block, 1…attnKeyBlock
	kStep int      // bytes between packed K panels: hd·64
	vStep int      // bytes between packed V panels: nk·64
	ldo   int      // bytes between output rows
	ldb   int      // bytes between bias rows (0 without a bias)
	bStep int      // bytes the bias moves per 32 keys (128, or 0 without a bias)
	scale float32
	alpha [16]float32 // pass 2 → pass 3: e^(m_old - m_new) per row
	shift [16]float32 // the assembly's pass 2: each row's shift
	sums  [16]float32 // the assembly's pass 2: each row's Σ P
	dst   *float32    // last key block: the panel's finished rows (ldd bytes apart, hd columns), else nil
	ldd   int
	inv   [16]float32 // pass 2 → pass 3 with dst: 1/l per row
	keep  [16]uint32  // pass 2 → pass 3 with dst: all ones where l ≠ 0, else 0 (a fully masked row is 0)
	dcol  int         // the assembly's pass 3: bytes from dst to the tile's columns (not a pointer the GC could see past dst's end)
}

// attnZeros is the bias of a call without one (read with stride 0).
var attnZeros [32]float32

// attnPanelGo is the fused call in Go for h rows of a panel packed with mr
// rows per step: the specification of the assembly kernels (which use the
// level's exp and FMA, so they agree with it to rounding, not bit for bit).
func attnPanelGo(a *attnArgs, h, mr int) {
	hd, kw := a.hd, a.kw
	q := unsafe.Slice(a.q, hd*mr)
	s := unsafe.Slice(a.s, h*attnKeyBlock)
	m := unsafe.Slice(a.m, h)
	l := unsafe.Slice(a.l, h)
	kp := unsafe.Slice(a.k, panelsOf(kw)*a.kStep/4)
	ldo := a.ldo / 4
	o := unsafe.Slice(a.o, (h-1)*ldo+hd)
	// Pass 1: S = scale·Q·Kᵀ + bias. Key j of the block is lane j%16 of
	// packed panel j/16.
	for r := 0; r < h; r++ {
		var b []float32
		if a.ldb != 0 {
			b = unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(a.bias), r*a.ldb)), kw)
		}
		for j := 0; j < kw; j++ {
			kj := kp[j/gemmPanel*(a.kStep/4)+j%gemmPanel:]
			var dot float32
			for c := 0; c < hd; c++ {
				dot += q[c*mr+r] * kj[c*gemmPanel]
			}
			x := a.scale * dot
			if b != nil {
				x += b[j]
			}
			s[r*attnKeyBlock+j] = x
		}
	}
	// Pass 2: online softmax. A row whose maximum so far is -Inf takes
	// shift 0, so its P (e^-Inf) and α are 0 rather than NaN.
	for r := 0; r < h; r++ {
		row := s[r*attnKeyBlock : r*attnKeyBlock+kw]
		mx := negInf
		for _, x := range row {
			mx = max(mx, x)
		}
		mOld := m[r]
		mNew := max(mOld, mx)
		shift := mNew
		if shift == negInf {
			shift = 0
		}
		var sum float32
		for j, x := range row {
			row[j] = float32(math.Exp(float64(x - shift)))
			sum += row[j]
		}
		alpha := float32(math.Exp(float64(mOld - shift)))
		l[r] = l[r]*alpha + sum
		m[r] = mNew
		a.alpha[r] = alpha
		a.inv[r], a.keep[r] = 1/l[r], 0
		if l[r] != 0 {
			a.keep[r] = 1<<32 - 1
		}
	}
	// Pass 3: O = α·O + P·V. Column c of value j is lane c%16 of row j in
	// packed panel c/16. With dst, the row times 1/l goes there instead.
	vp := unsafe.Slice(a.v, (panelsOf(hd)-1)*a.vStep/4+kw*gemmPanel)
	var d []float32
	if a.dst != nil {
		d = unsafe.Slice(a.dst, (h-1)*a.ldd/4+hd)
	}
	for r := 0; r < h; r++ {
		orow := o[r*ldo : r*ldo+hd]
		p := s[r*attnKeyBlock : r*attnKeyBlock+kw]
		for c := range orow {
			acc := a.alpha[r] * orow[c]
			vc := vp[c/gemmPanel*(a.vStep/4)+c%gemmPanel:]
			for j, pj := range p {
				acc += pj * vc[j*gemmPanel]
			}
			switch {
			case d == nil:
				orow[c] = acc
			case a.keep[r] != 0:
				d[r*a.ldd/4+c] = acc * a.inv[r]
			default:
				d[r*a.ldd/4+c] = 0
			}
		}
	}
}

// attentionFused is attentionBlocks on the level's fused kernels fk
// (fk[h-1] takes h rows): query blocks of attentionQueryRows rows, each
// against the key blocks in turn, its panels one fused call per block.
func attentionFused(mk *gemmMicro, fk []func(*attnArgs), dst []float32, ldd int, q []float32, ldq, nq int, kv *AttentionKV, scale float32, bias []float32, ldb int) {
	nk, hd := kv.nk, kv.hd
	mr := mk.mr
	qb := roundUp(attentionQueryRows, mr)
	ldo := roundUp(hd, mk.nr)
	// Key blocks start on a packed panel (12 keys wide on arm64).
	kb := attnKeyBlock / gemmPanel * gemmPanel

	sc := attentionPool.get()
	if sc == nil {
		sc = &attentionScratch{}
	}
	sc.qa = grow(sc.qa, qb*hd+gemmPackSlack)
	sc.s = grow(sc.s, mr*attnKeyBlock)
	sc.o = grow(sc.o, qb*ldo)
	sc.m = grow(sc.m, qb)
	sc.l = grow(sc.l, qb)
	a := &sc.args
	a.hd, a.scale, a.ldd = hd, scale, ldd*4
	a.kStep, a.vStep, a.ldo = hd*gemmPanel*4, nk*gemmPanel*4, ldo*4
	a.s = &sc.s[0]
	a.bias, a.ldb, a.bStep = &attnZeros[0], 0, 0
	if bias != nil {
		a.ldb, a.bStep = ldb*4, 32*4
	}
	for i0 := 0; i0 < nq; i0 += qb {
		rows := min(qb, nq-i0)
		packA(mk, sc.qa, false, q, ldq, 1, nq, i0, rows, 0, hd)
		clear(sc.o[:rows*ldo])
		for r := 0; r < rows; r++ {
			sc.m[r], sc.l[r] = negInf, 0
		}
		for j0 := 0; j0 < nk; j0 += kb {
			a.kw = min(kb, nk-j0)
			a.k = &kv.kp[j0*hd]
			a.v = &kv.vp[j0*gemmPanel]
			last := mk.attnOut && j0+kb >= nk
			h := 0
			for t, i := 0, 0; i < rows; t, i = t+1, i+h {
				h = tileRows(mr, rows-i)
				a.q = &sc.qa[t*mr*hd]
				a.o = &sc.o[i*ldo]
				a.m, a.l = &sc.m[i], &sc.l[i]
				if bias != nil {
					a.bias = &bias[(i0+i)*ldb+j0]
				}
				a.dst = nil
				if last {
					a.dst = &dst[(i0+i)*ldd]
				}
				fk[h-1](a)
			}
		}
		if mk.attnOut {
			continue // the last block's kernels wrote dst
		}
		for r := 0; r < rows; r++ {
			d := dst[(i0+r)*ldd : (i0+r)*ldd+hd]
			o := sc.o[r*ldo : r*ldo+hd]
			l := sc.l[r]
			if l == 0 {
				clear(d) // fully masked
				continue
			}
			scaleImpl(d, o, 1/l)
		}
	}
	a.q, a.k, a.v, a.s, a.o, a.bias, a.m, a.l, a.dst = nil, nil, nil, nil, nil, nil, nil, nil, nil
	attentionPool.put(sc)
}
