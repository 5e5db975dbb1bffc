package kernels

import (
	"fmt"
	"math"
)

// Attention sets, for each of the nq query rows i,
//
//	dst[i·ldd + c] = Σ_j p[i][j] · v[j·ldv + c]          (c < headDim)
//	p[i] = softmax_j(scale · q_i·k_j + bias[i·ldb + j])  (j < nk)
//
// with q_i = q[i·ldq : i·ldq+headDim] and k_j, v_j the rows of k and v
// alike: timm's softmax(scale·q·kᵀ + bias)·v for one head, without ever
// holding the nq×nk scores. bias (an additive mask or relative-position
// bias, row stride ldb) may be nil; -Inf and float32 minimum entries mask
// keys. A row whose every score is -Inf gets zeros (the probabilities
// Softmax gives such a row), so fully masked rows stay finite; with float32
// minimum masks it gets the mean of v, as timm does. NaNs in the inputs
// propagate to their rows. With nk == 0 the output rows are zeros.
//
// It works flash-style: a block of queries (a few micro-kernel panels)
// against blocks of attentionKeyBlock keys at a time, with an online
// softmax (a running row maximum and sum, rescaling the partial output
// when the maximum grows), k packed once per call as the Q·Kᵀ operand and
// v as the P·V operand. Levels with fused attention kernels (AVX-512,
// AVX2, NEON: attention_fused.go) run each query panel through a key block
// in one assembly call; the generic level runs the GEMM micro-kernels and
// the softmax's exp kernels. Every intermediate stays in L1 or L2.
// attentionRef is the same function written plainly.
//
// dst must not overlap q, k, v or bias. Results do not depend on anything
// but the inputs (one goroutine; callers split heads or query rows across
// threads).
func Attention(dst []float32, ldd int, q, k, v []float32, ldq, ldk, ldv int, nq, nk, headDim int, scale float32, bias []float32, ldb int) {
	if nq < 0 || nk < 0 || headDim < 0 {
		panic(fmt.Sprintf("kernels: Attention: negative size nq %d, nk %d, headDim %d", nq, nk, headDim))
	}
	checkMatrix("Attention dst", dst, false, nq, headDim, ldd)
	checkMatrix("Attention q", q, false, nq, headDim, ldq)
	checkMatrix("Attention k", k, false, nk, headDim, ldk)
	checkMatrix("Attention v", v, false, nk, headDim, ldv)
	if bias != nil {
		checkMatrix("Attention bias", bias, false, nq, nk, ldb)
	}
	if nq == 0 || headDim == 0 {
		return
	}
	if nk == 0 {
		for i := 0; i < nq; i++ {
			clear(dst[i*ldd : i*ldd+headDim])
		}
		return
	}
	attentionTiled(gemmLevel, dst, ldd, q, k, v, ldq, ldk, ldv, nq, nk, headDim, scale, bias, ldb)
}

// AttentionMinKeys is the key count from which Attention and
// AttentionPacked at the active level are faster than the unfused
// Sgemm(Q·Kᵀ) + Softmax + Sgemm(P·V) on one head (BenchmarkAttention):
// 1 for the AVX2 and AVX-512 fused kernels (17-27% faster at N = 197 and
// 577 on an Emerald Rapids Xeon), 1024 elsewhere: where attention runs on
// the GEMM micro-kernels (level with unfused at 577, slower at 197) and
// for the NEON fused kernels, not yet timed on hardware.
func AttentionMinKeys() int {
	if k := gemmLevel.attnMinKeys; k > 0 {
		return k
	}
	return 1024
}

// attentionKeyBlock is about how many keys one step of the online softmax
// takes, rounded up to a multiple of the level's nr (so key blocks start on
// whole packed panels: 256 on amd64, 264 with arm64's 12-column panels).
// A block of 256 keys keeps the scores of
// a query block (≤ 70 rows) in 70 KB, and the rescaling of the partial
// output (headDim multiplies per row) costs 1/256 of the products.
const attentionKeyBlock = 256

// attentionQueryRows is about how many query rows a block holds (rounded up
// to whole micro-kernel panels): each packed block of k and v is read from
// L2 once per query block, so blocks of 4 AVX2 panels (24 rows) made the
// AVX2 kernel 10% slower than Sgemm + Softmax + Sgemm at N = 197.
const attentionQueryRows = 64

// attentionScratch holds one call's block buffers.
type attentionScratch struct {
	qa, s, pa, o, m, l []float32
	args               attnArgs // the fused kernels' operands
}

var attentionPool freeList[attentionScratch]

// AttentionKV is the keys and values of one head packed for
// AttentionPacked: a model that hands out query blocks of one head as
// separate work items packs them once for all the blocks (packing per
// call cost Attention 27% at N = 4097 in query blocks of 256). It is
// read-only once packed, so concurrent AttentionPacked calls may share it;
// PackAttentionKV reuses its buffers.
type AttentionKV struct {
	nk, hd int
	kp, vp []float32  // k as the hd×nk operand of Q·Kᵀ, v as the nk×hd operand of P·V (PackedB layout)
	bf     attnKVBF16 // k and v in bfloat16, when PackAttentionKVBF16 packed them (bf.on)
	i8     attnKVInt8 // k and v in int8, when PackAttentionKVInt8 packed them (i8.on)
}

// Reserve grows kv's buffers to hold nk keys of headDim, so that a later
// PackAttentionKV of at most that size allocates nothing. A worker that
// packs keys only now and then (which worker runs an item depends on
// scheduling) would otherwise grow them in the middle of a warm run.
func (kv *AttentionKV) Reserve(nk, headDim int) {
	if nk < 0 || headDim < 0 {
		panic(fmt.Sprintf("kernels: AttentionKV.Reserve: negative size nk %d, headDim %d", nk, headDim))
	}
	kv.kp = grow(kv.kp, max(len(kv.kp), packedBLen(headDim, nk)))
	kv.vp = grow(kv.vp, max(len(kv.vp), packedBLen(nk, headDim)))
}

// PackAttentionKV packs k and v (nk rows of headDim, row strides ldk and
// ldv) into kv, growing its buffers when needed.
func PackAttentionKV(kv *AttentionKV, k, v []float32, ldk, ldv, nk, headDim int) {
	if nk < 0 || headDim < 0 {
		panic(fmt.Sprintf("kernels: PackAttentionKV: negative size nk %d, headDim %d", nk, headDim))
	}
	checkMatrix("PackAttentionKV k", k, false, nk, headDim, ldk)
	checkMatrix("PackAttentionKV v", v, false, nk, headDim, ldv)
	kv.nk, kv.hd = nk, headDim
	kv.bf.on, kv.i8.on = false, false
	kv.kp = grow(kv.kp, packedBLen(headDim, nk))
	kv.vp = grow(kv.vp, packedBLen(nk, headDim))
	if nk == 0 || headDim == 0 {
		return
	}
	packKeys(gemmLevel, kv.kp, k, ldk, nk, headDim)
	packBPanels(kv.vp, false, nk, headDim, v, ldv, 0, panelsOf(headDim), 0, nk)
}

// AttentionPacked is Attention with k and v packed beforehand (kv holds
// their sizes): the same results, bit for bit, when PackAttentionKV
// packed them; PackAttentionKVBF16's packing runs the bfloat16 attention
// (attention_bf16.go).
func AttentionPacked(dst []float32, ldd int, q []float32, ldq, nq int, kv *AttentionKV, scale float32, bias []float32, ldb int) {
	nk, hd := kv.nk, kv.hd
	if nq < 0 {
		panic(fmt.Sprintf("kernels: AttentionPacked: negative nq %d", nq))
	}
	checkMatrix("AttentionPacked dst", dst, false, nq, hd, ldd)
	checkMatrix("AttentionPacked q", q, false, nq, hd, ldq)
	if bias != nil {
		checkMatrix("AttentionPacked bias", bias, false, nq, nk, ldb)
	}
	if kv.i8.on {
		if attnI8Dot == nil || kv.i8.lim != attnI8KVMax {
			panic("kernels: AttentionPacked: kv was packed for int8 attention at another kernel level")
		}
	} else if kv.bf.on {
		if len(kv.bf.k) < bf16KVLen(nk, hd) || len(kv.bf.v) < bf16KVLen(nk, hd) {
			panic("kernels: AttentionPacked: kv was not packed by PackAttentionKVBF16")
		}
		if attnBF16Dot == nil {
			panic("kernels: AttentionPacked: kv was packed for bfloat16 attention at a kernel level above the active one")
		}
	} else if len(kv.kp) < packedBLen(hd, nk) || len(kv.vp) < packedBLen(nk, hd) {
		panic("kernels: AttentionPacked: kv was not packed by PackAttentionKV")
	}
	if nq == 0 || hd == 0 {
		return
	}
	if nk == 0 {
		for i := 0; i < nq; i++ {
			clear(dst[i*ldd : i*ldd+hd])
		}
		return
	}
	if kv.i8.on {
		attentionInt8(dst, ldd, q, ldq, nq, kv, scale, bias, ldb)
		return
	}
	if kv.bf.on {
		attentionBF16(dst, ldd, q, ldq, nq, kv, scale, bias, ldb)
		return
	}
	attentionBlocks(gemmLevel, dst, ldd, q, ldq, nq, kv, scale, bias, ldb)
}

// attentionTiled is Attention (nq, nk, headDim ≥ 1, arguments checked) on
// the micro-kernel mk: k and v packed into pooled buffers, then
// attentionBlocks.
func attentionTiled(mk *gemmMicro, dst []float32, ldd int, q, k, v []float32, ldq, ldk, ldv int, nq, nk, hd int, scale float32, bias []float32, ldb int) {
	kv := attentionKVPool.get()
	if kv == nil {
		kv = &AttentionKV{}
	}
	kv.nk, kv.hd = nk, hd
	kv.bf.on, kv.i8.on = false, false
	kv.kp = grow(kv.kp, packedBLen(hd, nk))
	packKeys(mk, kv.kp, k, ldk, nk, hd)
	kv.vp = grow(kv.vp, packedBLen(nk, hd))
	packBPanels(kv.vp, false, nk, hd, v, ldv, 0, panelsOf(hd), 0, nk)
	attentionBlocks(mk, dst, ldd, q, ldq, nq, kv, scale, bias, ldb)
	attentionKVPool.put(kv)
}

var attentionKVPool freeList[AttentionKV]

// attentionBlocks runs the query blocks against the packed keys and values
// (nq, nk, hd ≥ 1, arguments checked).
func attentionBlocks(mk *gemmMicro, dst []float32, ldd int, q []float32, ldq, nq int, kv *AttentionKV, scale float32, bias []float32, ldb int) {
	if mk.attn != nil {
		attentionFused(mk, mk.attn, dst, ldd, q, ldq, nq, kv, scale, bias, ldb)
		return
	}
	nk, hd := kv.nk, kv.hd
	mr, nr := mk.mr, mk.nr
	qb := roundUp(attentionQueryRows, mr)
	kb := roundUp(attentionKeyBlock, nr)
	lds := kb
	ldo := roundUp(hd, nr)

	sc := attentionPool.get()
	if sc == nil {
		sc = &attentionScratch{}
	}
	sc.qa = grow(sc.qa, qb*hd+gemmPackSlack)
	// 8 more rows than a block: packA's assembly reads whole groups of 8
	// rows, so a last partial panel of P reads past the block's rows
	// (values it packs but the kernels for fewer rows never use).
	sRows := qb + 8
	sc.s = grow(sc.s, sRows*lds)
	sc.pa = grow(sc.pa, qb*kb+gemmPackSlack)
	sc.o = grow(sc.o, qb*ldo)
	sc.m = grow(sc.m, qb)
	sc.l = grow(sc.l, qb)
	kPanels, vPanels := panelsOf(nk), panelsOf(hd)
	kpLen, vpLen := hd*gemmPanel, nk*gemmPanel

	for i0 := 0; i0 < nq; i0 += qb {
		rows := min(qb, nq-i0)
		packA(mk, sc.qa, false, q, ldq, 1, nq, i0, rows, 0, hd)
		clear(sc.o[:rows*ldo])
		for r := 0; r < rows; r++ {
			sc.m[r], sc.l[r] = negInf, 0
		}
		for j0 := 0; j0 < nk; j0 += kb {
			kw := min(kb, nk-j0)
			// S = Q·Kᵀ for this block: whole nr-column tiles (the
			// columns past kw are padding, never read).
			for jt := 0; jt < kw; jt += nr {
				qk := (j0 + jt) / gemmPanel
				b0 := &kv.kp[qk*kpLen]
				b1 := b0
				if nr > gemmPanel && qk+1 < kPanels {
					b1 = &kv.kp[(qk+1)*kpLen]
				}
				h := 0
				for t, i := 0, 0; i < rows; t, i = t+1, i+h {
					h = tileRows(mr, rows-i)
					mk.kernel[h-1](hd, &sc.qa[t*mr*hd], b0, b1, &sc.s[i*lds+jt], lds, 0, nil, b0)
				}
			}
			if kw == nk {
				// One block holds every key: the plain softmax of each
				// row (one kernel call; all -Inf rows become zeros, or
				// NaN where a NaN hid), then O = P·V is the output.
				for r := 0; r < rows; r++ {
					srow := sc.s[r*lds : r*lds+kw]
					var brow []float32
					if bias != nil {
						brow = bias[(i0+r)*ldb : (i0+r)*ldb+kw]
					}
					if softmaxRowImpl(srow, srow, brow, scale, 0, 0) == negInf {
						softmaxMasked(srow, srow, brow, scale)
					}
					sc.l[r] = 1
				}
			}
			// Online softmax: P = e^(scale·S + bias - m), with m the
			// running row maximum; the partial output and sum are
			// rescaled by e^(m_old - m) when m grows.
			for r := 0; r < rows && kw < nk; r++ {
				srow := sc.s[r*lds : r*lds+kw]
				var brow []float32
				if bias != nil {
					brow = bias[(i0+r)*ldb+j0 : (i0+r)*ldb+j0+kw]
				}
				mx := softmaxMaxImpl(srow, brow, scale)
				mOld := sc.m[r]
				mNew := max(mOld, mx)
				if mNew == negInf {
					// Every score so far is -Inf (or NaN hidden behind
					// it): nothing to add.
					if hasNaN(srow, brow, scale) {
						sc.l[r] = float32(math.NaN())
					}
					clear(srow)
					continue
				}
				sum := softmaxExpImpl(srow, srow, brow, scale, mNew)
				if mNew != mOld {
					alpha := float32(math.Exp(float64(mOld - mNew)))
					sc.l[r] *= alpha
					orow := sc.o[r*ldo : r*ldo+hd]
					for c := range orow {
						orow[c] *= alpha
					}
					sc.m[r] = mNew
				}
				sc.l[r] += sum
			}
			// O += P·V over the block's kw keys.
			packA(mk, sc.pa, false, sc.s, lds, 1, sRows, 0, rows, 0, kw)
			for ct := 0; ct < hd; ct += nr {
				qv := ct / gemmPanel
				b0 := &kv.vp[qv*vpLen+j0*gemmPanel]
				b1 := b0
				if nr > gemmPanel && qv+1 < vPanels {
					b1 = &kv.vp[(qv+1)*vpLen+j0*gemmPanel]
				}
				h := 0
				for t, i := 0, 0; i < rows; t, i = t+1, i+h {
					h = tileRows(mr, rows-i)
					mk.kernel[h-1](kw, &sc.pa[t*mr*kw], b0, b1, &sc.o[i*ldo+ct], ldo, 1, nil, b0)
				}
			}
		}
		for r := 0; r < rows; r++ {
			d := dst[(i0+r)*ldd : (i0+r)*ldd+hd]
			o := sc.o[r*ldo : r*ldo+hd]
			l := sc.l[r]
			if l == 0 {
				clear(d) // fully masked
				continue
			}
			if nk <= kb {
				copy(d, o) // P was normalised
				continue
			}
			inv := 1 / l
			for c, x := range o {
				d[c] = x * inv
			}
		}
	}
	attentionPool.put(sc)
}

// packKeys packs k (nk rows of hd) as the hd×nk operand of Q·Kᵀ (see
// PackedB): panel q holds, for each of the hd steps, the components of keys
// 16q…16q+15. A whole panel is the A-panel layout of 16 rows, which the
// level's A packer (transposing 8 rows at a time) writes; the last partial
// panel is transposed in Go and zero-padded.
func packKeys(mk *gemmMicro, dst, k []float32, ldk, nk, hd int) {
	const w = gemmPanel
	full := nk / w
	if mk.packPanel == nil {
		full = 0
	}
	for q := 0; q < full; q++ {
		mk.packPanel(dst[q*hd*w:], w, w, k, ldk, 1, q*w, 0, hd)
	}
	if full*w < nk {
		packBPanels(dst, true, hd, nk, k, ldk, full, panelsOf(nk), 0, hd)
	}
}

// hasNaN reports whether scale·s + bias has a NaN.
func hasNaN(s, bias []float32, scale float32) bool {
	for i, x := range s {
		y := scale * x
		if bias != nil {
			y += bias[i]
		}
		if y != y {
			return true
		}
	}
	return false
}

// attentionRef is Attention written plainly, one query row at a time over
// all keys, in float32 with float64 exp: the specification the tiled
// version is tested against (with float64 references).
func attentionRef(dst []float32, ldd int, q, k, v []float32, ldq, ldk, ldv int, nq, nk, hd int, scale float32, bias []float32, ldb int) {
	p := make([]float32, nk)
	for i := 0; i < nq; i++ {
		mx := negInf
		for j := 0; j < nk; j++ {
			var dot float32
			for c := 0; c < hd; c++ {
				dot += q[i*ldq+c] * k[j*ldk+c]
			}
			s := scale * dot
			if bias != nil {
				s += bias[i*ldb+j]
			}
			p[j] = s
			mx = max(mx, s)
		}
		d := dst[i*ldd : i*ldd+hd]
		clear(d)
		if mx == negInf {
			if hasNaN(p, nil, 1) {
				for c := range d {
					d[c] = float32(math.NaN())
				}
			}
			continue
		}
		var sum float32
		for j := range p {
			p[j] = float32(math.Exp(float64(p[j] - mx)))
			sum += p[j]
		}
		for j := 0; j < nk; j++ {
			w := p[j] / sum
			for c := 0; c < hd; c++ {
				d[c] += w * v[j*ldv+c]
			}
		}
	}
}
