package kernels

import (
	"fmt"
	"math"
	"unsafe"
)

// bfloat16 attention: Q·Kᵀ and P·V with bfloat16 operands and float32
// accumulation, the softmax in float32, for models whose Linear layers run
// in low precision (int8, bf16). It runs where the bfloat16 products beat
// float32 FMA: the amx level (TDPBF16PS), and the avx512 level on the CPUs
// where VDPBF16PS does twice FMA's multiplies per cycle (AMD's; see
// bPreferDot). At every other level PackAttentionKVBF16 packs for the
// float32 kernels and AttentionPacked gives the bits of float32 attention.
//
// The algorithm is attentionBlocks': query blocks of attnBF16Rows rows
// against key blocks of attnKeyBlock keys, an online softmax between the
// two products. Per block:
//
//  1. S = Q·Kᵀ on bfloat16 Q (rounded once per query block, VCVTNEPS2BF16)
//     and K (rounded when packed), float32 sums (the products of bfloat16
//     values are exact in float32);
//  2. the softmax of scale·S + bias, online across key blocks, in float32
//     with the level's exp (the sum l over the float32 P), P rounded to
//     bfloat16 as it is stored;
//  3. T = P·V (V rounded when packed), and O = α·O + T in float32.
//
// Rounding Q, K, P and V to bfloat16 (relative error ≤ 2⁻⁹ each) moves a
// score by at most about scale·Σ_d |q_d·k_d|·2⁻⁸ and an output by about
// 2⁻⁸ of the largest |v| plus what the moved scores do to P: well inside
// the error of int8 activations (TestAttentionBF16 states the bound).
// Results depend on the inputs alone: every output element is one sum in
// a fixed order, whatever the query block or thread it runs in.

// attnBF16Rows is the query rows of one block: whole 32-row tile pairs,
// and S (attnBF16Rows × attnKeyBlock float32) stays in L2.
const attnBF16Rows = 64

// attnBF16Dot computes t = a·B for rows (a multiple of 16) × cols (a
// multiple of 32) over 32·kb steps of K, as amxDotBF16 does without
// prefetch: a holds bfloat16 rows lda bytes apart, B packed panels of 16
// columns with K in pairs, ldb bytes apart, t float32 rows ldt bytes
// apart. nil where the level has no bfloat16 attention.
var attnBF16Dot func(kb int, a *uint16, lda int, b *uint16, ldb int, t *float32, ldt int, rows, cols int)

// attnBF16Convert rounds src to bfloat16 into dst (as ToBF16), set with
// attnBF16Dot.
var attnBF16Convert func(dst []uint16, src []float32) = convertBF16Go

// attnBF16Exp is softmaxExpBF16Go at the level, set with attnBF16Dot.
var attnBF16Exp = softmaxExpBF16Go

// softmaxExpBF16Go is softmaxExpImpl with dst rounded to bfloat16 (the
// sum is over the float32 values, in float64 as softmaxExpGeneric), and
// zeros in dst from len(src) to len(src) rounded up to 16 (the assembly
// writes whole vectors).
func softmaxExpBF16Go(dst []uint16, src, bias []float32, scale, shift float32) float32 {
	dst = dst[:roundUp(len(src), 16)]
	var sum float64
	for i, x := range src {
		v := scale * x
		if len(bias) > 0 {
			v += bias[i]
		}
		e := float32(math.Exp(float64(v - shift)))
		dst[i] = ToBF16(e)
		sum += float64(e)
	}
	clear(dst[len(src):])
	return float32(sum)
}

// attnBF16Add is Add (dst may alias a), set with attnBF16Dot.
var attnBF16Add func(dst, a, b []float32) = Add

// AttentionLowPrecision reports whether PackAttentionKVBF16 packs for the
// bfloat16 attention at the active level (amx; avx512 where GemmBF16
// rounds activations too); where it does not, it packs for float32
// attention.
func AttentionLowPrecision() bool { return attnBF16Dot != nil }

// attnKVBF16 is a head's keys and values rounded to bfloat16 and packed
// for attnBF16Dot.
type attnKVBF16 struct {
	on   bool     // the last pack was bfloat16
	hdp  int      // head dimension rounded up to 32
	nkp  int      // keys rounded up to 32
	k, v []uint16 // Kᵀ: panels of 16 keys × hdp/2 pairs; V: panels of 16 columns × nkp/2 pairs
	row  []uint16 // two rows rounded for packing
}

// bf16KVLen is the length of each of the bfloat16 K and V buffers.
func bf16KVLen(nk, hd int) int { return roundUp(nk, 32) * roundUp(hd, 32) }

// ReserveBF16 grows kv's bfloat16 buffers to hold nk keys of headDim, so
// that a later PackAttentionKVBF16 of at most that size allocates nothing
// (at levels without bfloat16 attention it is Reserve).
func (kv *AttentionKV) ReserveBF16(nk, headDim int) {
	if attnBF16Dot == nil {
		kv.Reserve(nk, headDim)
		return
	}
	if nk < 0 || headDim < 0 {
		panic(fmt.Sprintf("kernels: AttentionKV.ReserveBF16: negative size nk %d, headDim %d", nk, headDim))
	}
	n := bf16KVLen(nk, headDim)
	kv.bf.k = grow(kv.bf.k, max(len(kv.bf.k), n))
	kv.bf.v = grow(kv.bf.v, max(len(kv.bf.v), n))
	kv.bf.row = grow(kv.bf.row, max(len(kv.bf.row), 2*roundUp(headDim, 32)))
}

// PackAttentionKVBF16 is PackAttentionKV for the bfloat16 attention: k and
// v rounded to bfloat16 and packed, where the level has it; elsewhere it
// is PackAttentionKV. AttentionPacked then runs whichever kv holds.
func PackAttentionKVBF16(kv *AttentionKV, k, v []float32, ldk, ldv, nk, headDim int) {
	if attnBF16Dot == nil {
		PackAttentionKV(kv, k, v, ldk, ldv, nk, headDim)
		return
	}
	if nk < 0 || headDim < 0 {
		panic(fmt.Sprintf("kernels: PackAttentionKVBF16: negative size nk %d, headDim %d", nk, headDim))
	}
	checkMatrix("PackAttentionKVBF16 k", k, false, nk, headDim, ldk)
	checkMatrix("PackAttentionKVBF16 v", v, false, nk, headDim, ldv)
	kv.nk, kv.hd = nk, headDim
	kv.i8.on = false
	b := &kv.bf
	b.on = true
	b.hdp, b.nkp = roundUp(headDim, 32), roundUp(nk, 32)
	n := b.hdp * b.nkp
	b.k, b.v = grow(b.k, n), grow(b.v, n)
	b.row = grow(b.row, 2*b.hdp)
	packKeysBF16(b.k[:n], k, ldk, nk, headDim, b.hdp, b.row)
	packValuesBF16(b.v[:n], v, ldv, nk, headDim, b.nkp, b.row)
}

// packKeysBF16 writes Kᵀ as the B operand of attnBF16Dot: key j, component
// d at panel j/16, pair d/2, lane j%16, half d%2; padding is zero. A key's
// pairs (d, d+1) are adjacent, so a row is rounded at once into row and
// its pairs stored as 32-bit words.
func packKeysBF16(dst []uint16, k []float32, ldk, nk, hd, hdp int, row []uint16) {
	clear(dst)
	row = row[:hdp]
	clear(row[hd:])
	pairs := unsafe.Slice((*uint32)(unsafe.Pointer(&row[0])), hdp/2)
	words := unsafe.Slice((*uint32)(unsafe.Pointer(&dst[0])), len(dst)/2)
	panel := hdp * 8 // words
	for j := 0; j < nk; j++ {
		attnBF16Convert(row[:hd], k[j*ldk:j*ldk+hd])
		p := words[j/16*panel+j%16:]
		for d, w := range pairs {
			p[d*16] = w
		}
	}
}

// packValuesBF16 writes V as the B operand of attnBF16Dot: key j, column c
// at panel c/16, pair j/2, lane c%16, half j%2; padding is zero. Keys go
// two at a time, rounded into the two halves of row.
func packValuesBF16(dst []uint16, v []float32, ldv, nk, hd, nkp int, row []uint16) {
	clear(dst)
	r0, r1 := row[:hd], row[hd:2*hd]
	panel := nkp * 16
	for j := 0; j < nk; j += 2 {
		attnBF16Convert(r0, v[j*ldv:j*ldv+hd])
		if j+1 < nk {
			attnBF16Convert(r1, v[(j+1)*ldv:(j+1)*ldv+hd])
		} else {
			clear(r1)
		}
		for c0 := 0; c0 < hd; c0 += 16 {
			p := dst[c0/16*panel+j/2*32:][:32]
			a, b := r0[c0:min(c0+16, hd)], r1[c0:min(c0+16, hd)]
			for c := range a {
				p[2*c], p[2*c+1] = a[c], b[c]
			}
		}
	}
}

// attnBF16Scratch holds one call's block buffers.
type attnBF16Scratch struct {
	qa, pa   []uint16  // Q block (rows × hdp), P block (rows × attnKeyBlock)
	s, t, o  []float32 // scores, P·V of the block, the running output
	m, l, al []float32 // running maxima and sums, this block's factors α
}

var attnBF16Pool freeList[attnBF16Scratch]

// attentionBF16 is AttentionPacked on kv's bfloat16 operands (nq, nk,
// hd ≥ 1, arguments checked).
func attentionBF16(dst []float32, ldd int, q []float32, ldq, nq int, kv *AttentionKV, scale float32, bias []float32, ldb int) {
	nk, hd := kv.nk, kv.hd
	b := &kv.bf
	hdp, nkp := b.hdp, b.nkp
	const qb, kb = attnBF16Rows, attnKeyBlock
	sc := attnBF16Pool.get()
	if sc == nil {
		sc = &attnBF16Scratch{}
	}
	sc.qa = grow(sc.qa, qb*hdp)
	sc.pa = grow(sc.pa, qb*kb)
	sc.s = grow(sc.s, qb*kb)
	sc.t = grow(sc.t, qb*hdp)
	sc.o = grow(sc.o, qb*hdp)
	sc.m, sc.l, sc.al = grow(sc.m, qb), grow(sc.l, qb), grow(sc.al, qb)
	dot, conv, exp := attnBF16Dot, attnBF16Convert, attnBF16Exp
	for i0 := 0; i0 < nq; i0 += qb {
		rows := min(qb, nq-i0)
		rp := roundUp(rows, 16)
		for r := 0; r < rp; r++ {
			d := sc.qa[r*hdp : (r+1)*hdp]
			if r < rows {
				conv(d[:hd], q[(i0+r)*ldq:(i0+r)*ldq+hd])
				clear(d[hd:])
			} else {
				clear(d)
			}
		}
		clear(sc.o[:rows*hdp])
		for r := 0; r < rows; r++ {
			sc.m[r], sc.l[r] = negInf, 0
		}
		for j0 := 0; j0 < nk; j0 += kb {
			kw := min(kb, nk-j0)
			kwp := roundUp(kw, 32)
			// 1. S = Q·Kᵀ: keys past kw are zero padding, never read.
			dot(hdp/32, &sc.qa[0], 2*hdp, &b.k[j0*hdp], 2*16*hdp, &sc.s[0], 4*kb, rp, kwp)
			// 2. Online softmax: P = e^(scale·S + bias - m) with m the
			// running row maximum; α = e^(m_old - m) rescales what the
			// earlier blocks left in O and l.
			for r := 0; r < rp; r++ {
				prow := sc.pa[r*kb : r*kb+kwp]
				if r >= rows {
					clear(prow)
					continue
				}
				srow := sc.s[r*kb : r*kb+kw]
				var brow []float32
				if bias != nil {
					brow = bias[(i0+r)*ldb+j0 : (i0+r)*ldb+j0+kw]
				}
				mOld := sc.m[r]
				mNew := max(mOld, softmaxMaxImpl(srow, brow, scale))
				sc.al[r] = 1
				if mNew == negInf {
					// Every score so far is -Inf (or NaN hidden behind
					// it): nothing to add.
					if hasNaN(srow, brow, scale) {
						sc.l[r] = float32(math.NaN())
					}
					clear(prow)
					continue
				}
				sum := exp(prow, srow, brow, scale, mNew)
				if mNew != mOld {
					sc.al[r] = float32(math.Exp(float64(mOld - mNew)))
					sc.l[r] *= sc.al[r]
					sc.m[r] = mNew
				}
				sc.l[r] += sum
				clear(prow[roundUp(kw, 16):])
			}
			// 3. T = P·V over the block's keys, O = α·O + T.
			dot(kwp/32, &sc.pa[0], 2*kb, &b.v[j0*16], 2*16*nkp, &sc.t[0], 4*hdp, rp, hdp)
			// α is 1 but where a row's maximum grew (a few blocks
			// of a row): scale those rows, then add T in one call.
			for r := 0; r < rows; r++ {
				if al := sc.al[r]; al != 1 {
					o := sc.o[r*hdp : r*hdp+hd]
					for c := range o {
						o[c] *= al
					}
				}
			}
			attnBF16Add(sc.o[:rows*hdp], sc.o[:rows*hdp], sc.t[:rows*hdp])
		}
		for r := 0; r < rows; r++ {
			d := dst[(i0+r)*ldd : (i0+r)*ldd+hd]
			o := sc.o[r*hdp : r*hdp+hd]
			l := sc.l[r]
			if l == 0 {
				clear(d) // fully masked
				continue
			}
			inv := 1 / l
			for c, x := range o {
				d[c] = x * inv
			}
		}
	}
	attnBF16Pool.put(sc)
}
