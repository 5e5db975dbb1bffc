package kernels

import (
	"fmt"
	"math"
	"unsafe"
)

// int8 attention: Q·Kᵀ and P·V as products of bytes with int32 sums, the
// softmax in float32, for int8 models at the levels without a tile unit:
// avx512 with VNNI (VPDPBUSD: four times as many multiplies per
// instruction as FMA) and avx2 (VPMADDUBSW, then VPMADDWD to add pairs:
// twice FMA's). Attention is most of an int8 forward at high resolution. At
// amx int8 models keep the bfloat16 attention (attention_bf16.go, more
// accurate and as fast); elsewhere float32.
//
// Quantization, per head (the published int8 attentions, SageAttention's
// among them, do the same):
//
//   - K is smoothed first: the mean key (over the head's keys) is
//     subtracted from every key. That adds q·k̄ to every score of a query
//     row, which the softmax removes exactly, and takes the shared offset
//     that trained models' keys carry out of the quantization range. Then
//     one symmetric scale per key: sk = max_d |k_d| / L, k8 = round(k/sk),
//     with L = attnI8KVMax: 127, or 63 at avx2, where VPMADDUBSW adds two
//     u8·s8 products into a saturating int16 (255·63·2 fits; 255·127·2
//     does not, and the unsigned side below uses all 8 bits).
//   - Q: one symmetric scale per query row, sq = max_d |q_d| / 127, stored
//     as the unsigned byte q8 + 128; the 128·Σ_d k8_d that this adds to a
//     score is subtracted per key (off).
//   - V: one symmetric scale per channel over the keys, sv_c = max|v_c|/L.
//   - P of each block of 256 keys is stored relative to that block's row
//     maximum b: round(255·e^(scale·S + bias − b)) in a byte, and the
//     block's share of the row enters the online softmax (as
//     attentionBlocks', over key blocks, m the running row maximum) with
//     the factor g = e^(b − m)/255: the row sum l adds g·Σ bytes, so the
//     weights that multiply V still add up to 1. Relative to the block's
//     own maximum, a block far below the row's peak keeps 8 bits: rows
//     with an attention sink (most of the weight on one token, the rest
//     spread thinly over thousands) keep their tail. A probability below
//     1/510 of its block's maximum is dropped, not spread over the others.
//
// Scores are float32((Σ q8·k8) − off_j)·sk_j, then scaled by scale·sq_i
// in the softmax; P·V sums are float32(Σ p8·v8)·sv_c·g added into the
// output rows. Integer sums are exact, every float step has a fixed order,
// so results depend on the inputs alone (not on query blocks or threads).
// TestAttentionInt8 states the error against float32 attention.

// attnI8Rows is the query rows of one block: ten 6-row tiles of the VNNI
// kernel, fifteen 4-row tiles of the AVX2 one; attnKeyBlock keys per
// block, as the float32 kernels.
const attnI8Rows = 60

// attnI8Dot is qdotVNNIF32 or qdotAVX2F32 (one attnI8MR×64 tile, stored,
// or added times row factors; b's bytes within ±attnI8KVMax), nil where
// the level has no int8 attention.
var attnI8Dot func(kg int, a *uint8, lda int, b *int8, ldb int, off *int32, scl *float32, s *float32, lds int, rs *float32)

// attnI8MR is attnI8Dot's rows; attnI8KVMax the largest |byte| of the
// packed keys and values (L above). Both set with attnI8Dot.
var (
	attnI8MR    = 6
	attnI8KVMax = 127
)

// attnI8Softmax is softmaxU8BlockGo at the level, set with attnI8Dot.
var attnI8Softmax = softmaxU8BlockGo

// softmaxU8BlockGo is the online softmax of one block of rows into bytes:
// for each row r < rows of s (n scores, lds apart; bias ldb apart, or
// nil), bm[r] = max_j rs[r]·s_j + bias_j (the block's row maximum),
// mold[r] = m[r], m[r] = max(m[r], bm[r]); p's row (ldp apart) gets
// softmaxExpU8Go's bytes with shift bm[r] (0 while that is -Inf), so each
// block's bytes use all 8 bits whatever the running maximum, and sq[r],
// sf[r] their two sums.
func softmaxU8BlockGo(p []uint8, ldp int, s []float32, lds int, bias []float32, ldb int, rows, n int, rs, m, mold, bm, sq, sf []float32) {
	for r := 0; r < rows; r++ {
		srow := s[r*lds : r*lds+n]
		var brow []float32
		if bias != nil {
			brow = bias[r*ldb : r*ldb+n]
		}
		b := negInf
		for i, x := range srow {
			if v := fmaBias(rs[r], x, brow, i); v > b {
				b = v
			}
		}
		bm[r], mold[r] = b, m[r]
		m[r] = max(m[r], b)
		shift := b
		if shift == negInf {
			shift = 0
		}
		sq[r], sf[r] = softmaxExpU8Go(p[r*ldp:], srow, brow, rs[r], shift)
	}
}

// softmaxExpU8Go writes dst[i] = round(255·e^(scale·src[i] + bias[i] −
// shift)), half to even, with scale·src[i] + bias[i] as one FMA (shift is
// at least their maximum, so the byte is at most 255); zeros from len(src) to
// len(src) rounded up to 16; and returns the sum of the bytes and the sum
// of the float32 exponentials (which is NaN when a score is: the bytes
// cannot say so).
func softmaxExpU8Go(dst []uint8, src, bias []float32, scale, shift float32) (sumq, sum float32) {
	dst = dst[:roundUp(len(src), 16)]
	var iq int32
	for i, x := range src {
		e := expFlush(fmaBias(scale, x, bias, i) - shift)
		q := quantValue(e * 255)
		dst[i] = uint8(q)
		iq += q
		sum += e
	}
	clear(dst[len(src):])
	return float32(iq), sum
}

// fmaBias is scale·x + bias[i] rounded once (as the kernels' FMA), or
// scale·x without a bias. (The float64 sum of an exact product rounds to
// float32 as one rounding would but where it lands on a float32 midpoint:
// never in the tests' data.)
func fmaBias(scale, x float32, bias []float32, i int) float32 {
	if len(bias) == 0 {
		return scale * x
	}
	return float32(float64(scale)*float64(x) + float64(bias[i]))
}

// expFlush is e^x in float32 with results below 2^-126 flushed to 0 (as
// EXPFLUSH_AVX512).
func expFlush(x float32) float32 {
	if x < -87.3 {
		return 0
	}
	return float32(math.Exp(float64(x)))
}

// qdotF32Go is attnI8Dot's specification, for a tile of mr rows.
func qdotF32Go(mr, kg int, a *uint8, lda int, b *int8, ldb int, off *int32, scl *float32, s *float32, lds int, rs *float32) {
	const nr = 64
	as := unsafe.Slice(a, (mr-1)*lda+4*kg)
	bs := unsafe.Slice(b, 3*ldb+4*kg*qPanel)
	os, ss := unsafe.Slice(off, nr), unsafe.Slice(scl, nr)
	out := unsafe.Slice(s, (mr-1)*lds/4+nr)
	for r := 0; r < mr; r++ {
		for c := 0; c < nr; c++ {
			p := c/qPanel*ldb + c%qPanel*4
			var t int32
			for g := 0; g < kg; g++ {
				for i := 0; i < 4; i++ {
					t += int32(as[r*lda+4*g+i]) * int32(bs[p+g*4*qPanel+i])
				}
			}
			// Each product rounded on its own, as the kernel's (no FMA).
			x := float32(float32(t-os[c]) * ss[c])
			if rs != nil {
				x = float32(x*unsafe.Slice(rs, mr)[r]) + out[r*lds/4+c]
			}
			out[r*lds/4+c] = x
		}
	}
}

// The row quantizers, set by level (specifications below). Their last
// argument is a row a later call reads (nil: none), which the kernels
// prefetch: the rows of q, k and v lie a whole qkv row apart.
var (
	attnI8SymRow    = qSymRowGo
	attnI8ScaleRow  = qScaleRowGo
	attnI8AbsMaxSum = absMaxSumGo
)

// qSymRowGo quantizes v = src − sub (sub nil: src) symmetrically into
// ±lim (127 or 63): scale = max|v|/lim, dst[i] = round(v_i·lim/max|v|) +
// add (half to even; 0 + add for an all-zero row) as a byte; sum is Σ of
// the rounded values before add, fsum Σ 0·v: 0, or NaN when some v is NaN
// or ±Inf (where the bytes mean nothing).
func qSymRowGo(dst []uint8, src, sub []float32, add int32, lim float32, _ *float32) (scale float32, sum int32, fsum float32) {
	v := func(i int) float32 {
		if sub != nil {
			return src[i] - sub[i]
		}
		return src[i]
	}
	var m float32
	for i := range src {
		x := v(i)
		fsum += 0 * x
		if a := abs32(x); a > m {
			m = a
		}
	}
	var inv float32
	if m != 0 {
		inv = lim / m
	}
	for i := range src {
		q := quantSym(v(i), inv)
		sum += q
		dst[i] = uint8(q + add)
	}
	return m / lim, sum, fsum
}

// qScaleRowGo is dst[i] = round(src[i]·inv[i]) as a signed byte (|src[i]·
// inv[i]| ≤ 127).
func qScaleRowGo(dst []int8, src, inv []float32, _ *float32) {
	for i, x := range src {
		dst[i] = int8(quantSym(x, inv[i]))
	}
}

// absMaxSumGo is m[i] = max(m[i], |src[i]|), sum[i] += src[i].
func absMaxSumGo(m, sum, src []float32, _ *float32) {
	for i, x := range src {
		sum[i] += x
		if a := abs32(x); a > m[i] {
			m[i] = a
		}
	}
}

// AttentionInt8 reports whether PackAttentionKVInt8 packs for the int8
// attention at the active level.
func AttentionInt8() bool { return attnI8Dot != nil }

// attnKVInt8 is a head's keys and values quantized and packed for
// attnI8Dot (the QuantB panel layout: panels of 16 columns, K in groups
// of 4 bytes).
type attnKVInt8 struct {
	on      bool
	lim     int       // the packing level's attnI8KVMax
	hdp     int       // head dimension rounded up to 4 (the K steps of Q·Kᵀ)
	hdc     int       // head dimension rounded up to 64 (the columns of P·V)
	nkp     int       // keys rounded up to 64
	k       []int8    // Kᵀ: panels of 16 keys × hdp
	off     []int32   // 128·Σ_d k8 per key (nkp)
	ks      []float32 // per-key scales (nkp; 0 for padding)
	v       []int8    // V: panels of 16 channels × nkp keys (hdc/16 panels)
	vs      []float32 // per-channel scales (hdc)
	zero    []int32   // hdc zeros: P·V's offsets
	mean    []float32 // the mean key (hd)
	vsum    []float32 // the values' sum (hd)
	krowMax []float32 // the keys' largest |k| per dimension (hd; unused but by the pass that sums them)
	krow    []uint8   // one key's bytes (hdp)
	vrow    []int8    // one value's bytes (hd)
	maxAbs  []float32 // per-channel max |v|, then L over it (hd)
}

// size sets b's sizes for nk keys of hd and its buffers' lengths (grow
// keeps their capacity).
func (b *attnKVInt8) size(nk, hd int) {
	b.hdp, b.hdc, b.nkp = roundUp(hd, 4), roundUp(hd, 64), roundUp(nk, 64)
	b.k = grow(b.k, b.nkp*b.hdp)
	b.off, b.ks = grow(b.off, b.nkp), grow(b.ks, b.nkp)
	b.v = grow(b.v, b.hdc*b.nkp)
	b.vs, b.zero = grow(b.vs, b.hdc), grow(b.zero, b.hdc)
	b.mean, b.maxAbs = grow(b.mean, hd), grow(b.maxAbs, hd)
	b.vsum, b.krow, b.vrow = grow(b.vsum, hd), grow(b.krow, b.hdp), grow(b.vrow, hd)
	b.krowMax = grow(b.krowMax, hd)
}

// reserve grows b's buffers to hold nk keys of hd, leaving its sizes and
// lengths as they are.
func (b *attnKVInt8) reserve(nk, hd int) {
	hdp, hdc, nkp := roundUp(hd, 4), roundUp(hd, 64), roundUp(nk, 64)
	b.k = reserveCap(b.k, nkp*hdp)
	b.off, b.ks = reserveCap(b.off, nkp), reserveCap(b.ks, nkp)
	b.v = reserveCap(b.v, hdc*nkp)
	b.vs, b.zero = reserveCap(b.vs, hdc), reserveCap(b.zero, hdc)
	b.mean, b.maxAbs = reserveCap(b.mean, hd), reserveCap(b.maxAbs, hd)
	b.vsum, b.krow, b.vrow = reserveCap(b.vsum, hd), reserveCap(b.krow, hdp), reserveCap(b.vrow, hd)
	b.krowMax = reserveCap(b.krowMax, hd)
}

// reserveCap returns s with room for n elements, its length and contents
// kept.
func reserveCap[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s
	}
	return append(make([]T, 0, n), s...)
}

// ReserveInt8 grows kv's buffers for PackAttentionKVInt8 of nk keys of
// headDim, so that a later pack of at most that size allocates nothing.
func (kv *AttentionKV) ReserveInt8(nk, headDim int) {
	switch {
	case attnI8Dot != nil:
		if nk < 0 || headDim < 0 {
			panic(fmt.Sprintf("kernels: AttentionKV.ReserveInt8: negative size nk %d, headDim %d", nk, headDim))
		}
		kv.i8.reserve(nk, headDim)
		kv.Reserve(nk, headDim) // a head with NaN or Inf falls back to float32
	default:
		kv.ReserveBF16(nk, headDim)
	}
}

// PackAttentionKVInt8 packs k and v for an int8 model's attention: int8
// where the level has it (AttentionInt8), bfloat16 at amx
// (PackAttentionKVBF16), float32 elsewhere. A head whose keys or values
// hold NaN or ±Inf (or whose key sum overflows) is packed for float32
// attention, which gives them their float32 meaning. AttentionPacked then
// runs whichever kv holds.
func PackAttentionKVInt8(kv *AttentionKV, k, v []float32, ldk, ldv, nk, headDim int) {
	if attnI8Dot == nil {
		PackAttentionKVBF16(kv, k, v, ldk, ldv, nk, headDim)
		return
	}
	if nk < 0 || headDim < 0 {
		panic(fmt.Sprintf("kernels: PackAttentionKVInt8: negative size nk %d, headDim %d", nk, headDim))
	}
	checkMatrix("PackAttentionKVInt8 k", k, false, nk, headDim, ldk)
	checkMatrix("PackAttentionKVInt8 v", v, false, nk, headDim, ldv)
	b := &kv.i8
	if nk == 0 || headDim == 0 {
		PackAttentionKV(kv, k, v, ldk, ldv, nk, headDim)
		return
	}
	b.size(nk, headDim)
	// The sums of the keys and of the values are NaN or ±Inf when any
	// of them is: one pass over each finds out.
	mean, m, vsum := b.mean[:headDim], b.maxAbs[:headDim], b.vsum[:headDim]
	clear(mean)
	clear(m)
	clear(vsum)
	clear(b.krowMax[:headDim])
	absMaxSum := attnI8AbsMaxSum
	kmax := b.krowMax[:headDim]
	for j := 0; j < nk; j++ {
		pk, pv := ahead(k, j, ldk, nk), ahead(v, j, ldv, nk)
		absMaxSum(kmax, mean, k[j*ldk:j*ldk+headDim], pk)
		absMaxSum(m, vsum, v[j*ldv:j*ldv+headDim], pv)
	}
	if !finite(mean) || !finite(vsum) {
		PackAttentionKV(kv, k, v, ldk, ldv, nk, headDim)
		return
	}
	kv.nk, kv.hd = nk, headDim
	kv.bf.on = false
	b.on, b.lim = true, attnI8KVMax
	packKeysInt8(b, k, ldk, nk, headDim)
	packValuesInt8(b, v, ldv, nk, headDim)
}

// aheadRows is how many rows ahead the row kernels prefetch.
const aheadRows = 4

// ahead is the row aheadRows after row j of x (rows ld apart, n of them),
// or nil past the last.
func ahead(x []float32, j, ld, n int) *float32 {
	if j+aheadRows >= n {
		return nil
	}
	return &x[(j+aheadRows)*ld]
}

// finite reports whether every element of x is finite.
func finite(x []float32) bool {
	for _, e := range x {
		if e-e != 0 {
			return false
		}
	}
	return true
}

// packKeysInt8 quantizes and packs the keys less b.mean (the sum of the
// keys on entry): key j, dimension d at panel j/16, group d/4, byte
// (j%16)·4 + d%4.
func packKeysInt8(b *attnKVInt8, k []float32, ldk, nk, hd int) {
	mean := b.mean[:hd]
	inv := 1 / float32(nk)
	for d := range mean {
		mean[d] *= inv
	}
	clear(b.k)
	clear(b.off[nk:b.nkp])
	clear(b.ks[nk:b.nkp])
	row := b.krow[:b.hdp]
	clear(row[hd:])
	words := unsafe.Slice((*uint32)(unsafe.Pointer(&row[0])), b.hdp/4)
	packed := unsafe.Slice((*uint32)(unsafe.Pointer(&b.k[0])), len(b.k)/4)
	panel := 4 * b.hdp // words
	symRow, lim := attnI8SymRow, float32(attnI8KVMax)
	for j := 0; j < nk; j++ {
		scale, sum, _ := symRow(row[:hd], k[j*ldk:j*ldk+hd], mean, 0, lim, ahead(k, j, ldk, nk))
		b.off[j], b.ks[j] = 128*sum, scale
		p := packed[j/16*panel+j%16:]
		for g, w := range words {
			p[g*16] = w
		}
	}
}

// packValuesInt8 quantizes V per channel (b.maxAbs holds the channels'
// largest |v|, and is left holding L over it) and packs it: key j,
// channel c at panel c/16, group j/4, byte (c%16)·4 + j%4.
func packValuesInt8(b *attnKVInt8, v []float32, ldv, nk, hd int) {
	clear(b.v)
	clear(b.vs)
	clear(b.zero)
	inv := b.maxAbs[:hd]
	lim := float32(attnI8KVMax)
	for c, x := range inv {
		inv[c] = 0
		if x > 0 {
			b.vs[c] = x / lim
			inv[c] = lim / x
		}
	}
	row := b.vrow[:hd]
	panel := 16 * b.nkp
	scaleRow := attnI8ScaleRow
	for j := 0; j < nk; j++ {
		scaleRow(row, v[j*ldv:j*ldv+hd], inv, ahead(v, j, ldv, nk))
		o := j/4*64 + j%4
		for c, q := range row {
			b.v[c/16*panel+c%16*4+o] = q
		}
	}
}

// quantSym is round(x·inv), half to even, for |x| ≤ 127/inv (so the
// result is within ±127), as QuantizeWeights rounds.
func quantSym(x, inv float32) int32 {
	return int32(roundEven(float32(x * inv)))
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }

// attnI8Scratch holds one call's block buffers.
type attnI8Scratch struct {
	qa   []uint8   // Q block: attnI8Rows × hdp bytes
	pa   []uint8   // P block: attnI8Rows × attnKeyBlock bytes
	s, o []float32 // scores (attnI8Rows × attnKeyBlock), output rows (attnI8Rows × hdc)
	rs   []float32 // per row: scale·sq
	m, l []float32 // running maxima and sums
	mold []float32 // the maxima before this key block
	bm   []float32 // this key block's row maxima, then the rows' factors g
	sq   []float32 // this key block's byte sums
	sf   []float32 // this key block's exponential sums (NaN when a score is)
	bad  []bool    // rows whose q is not finite
}

var attnI8Pool freeList[attnI8Scratch]

// attentionInt8 is AttentionPacked on kv's int8 operands (nq, nk, hd ≥ 1,
// arguments checked).
func attentionInt8(dst []float32, ldd int, q []float32, ldq, nq int, kv *AttentionKV, scale float32, bias []float32, ldb int) {
	nk, hd := kv.nk, kv.hd
	b := &kv.i8
	hdp, hdc, nkp := b.hdp, b.hdc, b.nkp
	const qb, kb = attnI8Rows, attnKeyBlock
	sc := attnI8Pool.get()
	if sc == nil {
		sc = &attnI8Scratch{}
	}
	sc.qa, sc.pa = grow(sc.qa, qb*hdp), grow(sc.pa, qb*kb)
	sc.s, sc.o = grow(sc.s, qb*kb), grow(sc.o, qb*hdc)
	sc.rs, sc.m, sc.l = grow(sc.rs, qb), grow(sc.m, qb), grow(sc.l, qb)
	sc.mold, sc.sq, sc.sf = grow(sc.mold, qb), grow(sc.sq, qb), grow(sc.sf, qb)
	sc.bm = grow(sc.bm, qb)
	sc.bad = grow(sc.bad, qb)
	dot, softmax, mr := attnI8Dot, attnI8Softmax, attnI8MR
	vPanel := 16 * nkp
	for i0 := 0; i0 < nq; i0 += qb {
		rows := min(qb, nq-i0)
		rp := roundUp(rows, mr) // at most qb: mr divides it
		for r := 0; r < rp; r++ {
			d := sc.qa[r*hdp : (r+1)*hdp]
			sc.bad[r] = false
			if r >= rows {
				fillBytes(d, 128)
				continue
			}
			sq, ok := quantQueryRow(d, q[(i0+r)*ldq:(i0+r)*ldq+hd], ahead(q, i0+r, ldq, nq))
			sc.rs[r], sc.bad[r] = scale*sq, !ok
		}
		clear(sc.o[:rp*hdc])
		for r := 0; r < rows; r++ {
			sc.m[r], sc.l[r] = negInf, 0
		}
		for r := rows; r < rp; r++ {
			clear(sc.pa[r*kb : (r+1)*kb])
		}
		for j0 := 0; j0 < nk; j0 += kb {
			kw := min(kb, nk-j0)
			kc := roundUp(kw, 64)
			// 1. S = Q·Kᵀ, dequantised per key (the per-row factor
			// goes into the softmax's scale).
			for t := 0; t < rp; t += mr {
				for c := 0; c < kc; c += 64 {
					dot(hdp/4, &sc.qa[t*hdp], hdp, &b.k[(j0+c)*hdp], 16*hdp, &b.off[j0+c], &b.ks[j0+c], &sc.s[t*kb+c], 4*kb, nil)
				}
			}
			// 2. Online softmax into bytes, each row's relative to its
			// maximum in this block; α = e^(m_old − m) rescales what the
			// earlier blocks left in O and l where a row's maximum grew,
			// g = e^(b − m)/255 weighs this block's bytes.
			var bb []float32
			if bias != nil {
				bb = bias[i0*ldb+j0:]
			}
			softmax(sc.pa, kb, sc.s, kb, bb, ldb, rows, kw, sc.rs, sc.m, sc.mold, sc.bm, sc.sq, sc.sf)
			g := sc.bm[:rp]
			for r := 0; r < rows; r++ {
				if g[r] != negInf { // -Inf: e^-Inf = 0, nothing of this block
					g[r] -= sc.m[r]
				}
			}
			Exp(g[:rows], g[:rows])
			clear(g[rows:])
			for r := 0; r < rows; r++ {
				g[r] *= 1.0 / 255
				if sum := sc.sf[r]; sum != sum {
					sc.l[r] = sum
				}
				if mNew, mOld := sc.m[r], sc.mold[r]; mNew != mOld {
					al := float32(math.Exp(float64(mOld - mNew)))
					sc.l[r] *= al
					if al != 0 {
						o := sc.o[r*hdc : r*hdc+hd]
						scaleImpl(o, o, al)
					}
				}
				sc.l[r] += g[r] * sc.sq[r]
			}
			// 3. O += g·P·V over the block's keys.
			kg := roundUp(kw, 4) / 4
			for t := 0; t < rp; t += mr {
				for c := 0; c < hdc; c += 64 {
					dot(kg, &sc.pa[t*kb], kb, &b.v[c/16*vPanel+j0*16], vPanel, &b.zero[c], &b.vs[c], &sc.o[t*hdc+c], 4*hdc, &g[t])
				}
			}
		}
		for r := 0; r < rows; r++ {
			d := dst[(i0+r)*ldd : (i0+r)*ldd+hd]
			l := sc.l[r]
			switch {
			case sc.bad[r] || l != l:
				for c := range d {
					d[c] = float32(math.NaN())
				}
			case l == 0:
				clear(d) // fully masked
			default:
				scaleImpl(d, sc.o[r*hdc:r*hdc+hd], 1/l)
			}
		}
	}
	attnI8Pool.put(sc)
}

// quantQueryRow writes q's bytes (symmetric, + 128) into d (hdp bytes,
// padding 128) and returns its scale; ok is false when q is not finite.
func quantQueryRow(d []uint8, q []float32, pf *float32) (scale float32, ok bool) {
	scale, _, fsum := attnI8SymRow(d[:len(q)], q, nil, 128, 127, pf)
	fillBytes(d[len(q):], 128)
	return scale, fsum-fsum == 0
}

func fillBytes(d []uint8, x uint8) {
	for i := range d {
		d[i] = x
	}
}

// KVPrecision is what an attention's keys and values are packed as.
type KVPrecision uint8

const (
	KVFloat32  KVPrecision = iota // PackAttentionKV
	KVBFloat16                    // PackAttentionKVBF16: bf16 models
	KVInt8                        // PackAttentionKVInt8: int8 models
)

// PackAttentionKVAs packs k and v as p asks (PackAttentionKV,
// PackAttentionKVBF16 or PackAttentionKVInt8).
func PackAttentionKVAs(kv *AttentionKV, p KVPrecision, k, v []float32, ldk, ldv, nk, headDim int) {
	switch p {
	case KVInt8:
		PackAttentionKVInt8(kv, k, v, ldk, ldv, nk, headDim)
	case KVBFloat16:
		PackAttentionKVBF16(kv, k, v, ldk, ldv, nk, headDim)
	default:
		PackAttentionKV(kv, k, v, ldk, ldv, nk, headDim)
	}
}

// ReserveAs grows kv's buffers for PackAttentionKVAs(p) of at most nk keys
// of headDim (Reserve, ReserveBF16 or ReserveInt8).
func (kv *AttentionKV) ReserveAs(p KVPrecision, nk, headDim int) {
	switch p {
	case KVInt8:
		kv.ReserveInt8(nk, headDim)
	case KVBFloat16:
		kv.ReserveBF16(nk, headDim)
	default:
		kv.Reserve(nk, headDim)
	}
}
