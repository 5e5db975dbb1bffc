package kernels

import (
	"fmt"
	"math"
	"unsafe"

	"github.com/klauspost/cpuid/v2"
)

// int8 dynamic quantization (W8A8) of a matrix product C = act(A·B + bias)
// + residual, the way ONNX Runtime's and oneDNN's dynamic quantization run
// a Linear layer:
//
//   - B (the weight) is quantized once, symmetric int8 per output column:
//     sw[n] = max_k |B[k,n]| / 127, Bq[k,n] = round(B[k,n] / sw[n]) in
//     [-127, 127] (round half to even).
//   - A (the activations) is quantized on every call, one scale and zero
//     point per row (asymmetric, 7 bits): over the row's values and 0,
//     sa = (max − min) / 127, za = round(−min / sa), Aq = clamp(round(a /
//     sa) + za, 0, 127), computed as a·(1/sa) in float32.
//   - The product is accumulated exactly in int32:
//     acc = Σ_k Aq[m,k]·Bq[k,n] − za[m]·Σ_k Bq[k,n].
//   - The epilogue dequantises, C = float32(acc)·(sa[m]·sw[n]) (+ bias[n]),
//     then applies the activation and adds the residual.
//
// Why 7-bit asymmetric activations: the product Aq·Bq of an unsigned 7-bit
// and a signed 8-bit value is exact on every instruction set anyres uses.
// AVX2's VPMADDUBSW adds two u8·s8 products into a saturating int16; with
// Aq ≤ 127 and |Bq| ≤ 128 the pair is at most 2·127·128 = 32512 < 32767,
// so it never saturates (with full 8-bit activations it can reach 64770).
// AVX-512 VNNI's VPDPBUSD takes the same unsigned×signed bytes, and NEON's
// SDOT (signed×signed) reads a 0…127 byte unchanged. Every level therefore
// computes the same integer sums, and with one shared dequantisation order
// the same float bits: levels agree with the generic spec exactly, not just
// closely. Asymmetric rather than symmetric because most inputs of a
// transformer's Linear layers are one-sided or skewed (GELU outputs lie in
// [−0.17, ∞); LayerNorm outputs carry the affine bias): the zero point
// spends all 128 levels on the range the row actually holds, where a
// symmetric 7-bit code would waste up to half of them. The zero point
// costs one integer multiply-add per output (za·colSum, colSum computed
// when B is packed).
//
// Results do not depend on the thread count: work is split over rows and
// columns of C, never over K (and integer sums are exact anyway).

// Packed int8 layout: column panels of qPanel columns; within a panel, K
// runs in groups of 4, and each group holds qPanel columns × 4 consecutive
// k values (64 bytes), which is what VPDPBUSD / VPMADDUBSW / SDOT multiply
// against 4 broadcast activation bytes. N is padded with zero columns to a
// multiple of qNPad, so the widest tile of any level never reads past the
// packed data. K is padded with zeros to a multiple of qKPad: 16 groups of
// a panel are then one 16×64-byte AMX tile (TILELOADD at a stride of 64
// bytes), for every K step of the AMX kernel. Zeros add nothing to the
// sums (nor to colSum); the other levels stop at the first group of
// padding (QuantB.groups).
const (
	qPanel = 16
	qNPad  = 64
	qKPad  = 64
	// qMaxK bounds K so that |Σ Aq·Bq| ≤ 127·128·K stays inside int32.
	qMaxK = MaxQuantK
)

// MaxQuantK is the largest K a QuantB takes: beyond it the exact int32
// sums could overflow.
const MaxQuantK = 1 << 17

// QuantB is a right-hand operand (K×N, typically a Linear weight) quantized
// to int8 per column and packed for GemmQuant. It is read-only after
// construction and safe for concurrent use.
type QuantB struct {
	K, N   int
	kp, np int       // K rounded up to qKPad, N rounded up to qNPad
	data   []int8    // np/qPanel panels of kp·qPanel bytes
	scale  []float32 // per column (np values, zero past N)
	colSum []int32   // Σ_k Bq[k, n] (np values)
	narrow bool      // every |Bq| ≤ NarrowQuantMax
}

// NarrowQuantMax is the largest |Bq| of a narrow weight, one whose values
// fit 7 bits (as ONNX Runtime's reduce_range quantizes): the AVX2 kernel
// then adds two groups' VPMADDUBSW pairs in int16 before widening them
// (4·127·64 < 2¹⁵, still exact), a quarter fewer multiplies. The sums are
// the same integers as at every other level; only the speed differs.
const NarrowQuantMax = 64

// QuantizeWeights quantizes a PyTorch [out, in] weight (rows of length in,
// row stride ld) symmetric int8 per output row: scale[o] = max|w[o,:]|/127,
// q[o,i] = round(w[o,i]/scale[o]) (half to even). A row of zeros gets scale
// 0. q is dense [out, in].
func QuantizeWeights(w []float32, out, in, ld int) (q []int8, scale []float32) {
	return QuantizeWeightsTo(w, out, in, ld, 127)
}

// QuantizeWeightsTo is QuantizeWeights onto [-qmax, qmax] (1 ≤ qmax ≤
// 127): scale[o] = max|w[o,:]|/qmax. NarrowQuantMax gives a narrow weight.
func QuantizeWeightsTo(w []float32, out, in, ld int, qmax int) (q []int8, scale []float32) {
	if qmax < 1 || qmax > 127 {
		panic(fmt.Sprintf("kernels: QuantizeWeightsTo: qmax %d outside [1, 127]", qmax))
	}
	checkMatrix("W", w, false, out, in, ld)
	q = make([]int8, out*in)
	scale = make([]float32, out)
	for o := 0; o < out; o++ {
		row := w[o*ld : o*ld+in]
		// |v| as bits: for values without a sign, integer order is float
		// order (a NaN's bits exceed +Inf's), and an integer max has no
		// NaN or signed-zero cases to branch on.
		var mb uint32
		for _, v := range row {
			mb = max(mb, math.Float32bits(v)&0x7fffffff)
		}
		mx := math.Float32frombits(mb)
		if mx == 0 || mx > math.MaxFloat32 || mx != mx {
			continue
		}
		qm := float32(qmax)
		s := mx / qm
		scale[o] = s
		qo := q[o*in : o*in+in]
		for i, v := range row {
			qo[i] = int8(max(-qm, min(qm, roundEven(v/s))))
		}
	}
	return q, scale
}

// roundEven rounds x (|x| ≤ 2²²) to the nearest integer, half to even, by
// float32 arithmetic: adding and subtracting 1.5·2²³ leaves no fraction
// bits, and the addition rounds to nearest even.
func roundEven(x float32) float32 {
	const magic = 1.5 * (1 << 23)
	return float32(float32(x+magic) - magic)
}

// QuantizeB quantizes and packs op(B) (K×N; B is N×K when transB, as a
// PyTorch Linear weight [out, in] is) for GemmQuant.
func QuantizeB(transB bool, k, n int, b []float32, ldb int) *QuantB {
	checkMatrix("B", b, transB, k, n, ldb)
	w := b
	ld := ldb
	if !transB {
		// Quantization is per column of op(B): gather columns as rows.
		w = make([]float32, n*k)
		for kk := 0; kk < k; kk++ {
			for j := 0; j < n; j++ {
				w[j*k+kk] = b[kk*ldb+j]
			}
		}
		ld = k
	}
	q, s := QuantizeWeights(w, n, k, ld)
	return NewQuantB(k, n, q, s)
}

// NewQuantB packs an int8 weight already quantized per output row (PyTorch
// layout [n][k], dense) with its n scales, e.g. as read from a quantized
// checkpoint. It panics on lengths that do not match k and n.
func NewQuantB(k, n int, q []int8, scale []float32) *QuantB {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("kernels: NewQuantB: negative size %d×%d", k, n))
	}
	if k > qMaxK {
		panic(fmt.Sprintf("kernels: NewQuantB: K = %d exceeds the int32 accumulation bound %d", k, qMaxK))
	}
	if len(q) != n*k || len(scale) != n {
		panic(fmt.Sprintf("kernels: NewQuantB: %d weights and %d scales for %d×%d", len(q), len(scale), n, k))
	}
	p := &QuantB{K: k, N: n, kp: roundUp(k, qKPad), np: roundUp(n, qNPad)}
	p.data = make([]int8, p.np*p.kp)
	p.scale = make([]float32, p.np)
	p.colSum = make([]int32, p.np)
	copy(p.scale, scale)
	panelLen := p.kp * qPanel
	p.narrow = true
	for j := 0; j < n && k > 0; j++ { // K = 0: nothing to pack, sums 0
		d := p.data[j/qPanel*panelLen+j%qPanel*4:]
		row := q[j*k : j*k+k]
		var s int32
		for kk, v := range row {
			d[kk/4*qPanel*4+kk%4] = v
			s += int32(v)
			if v > NarrowQuantMax || v < -NarrowQuantMax {
				p.narrow = false
			}
		}
		p.colSum[j] = s
	}
	return p
}

// groups is the number of groups of 4 steps of K that hold weights.
func (p *QuantB) groups() int { return (p.K + 3) / 4 }

// Narrow reports whether every quantized weight lies in
// [-NarrowQuantMax, NarrowQuantMax].
func (p *QuantB) Narrow() bool { return p.narrow }

// Bytes is the memory the packed weight holds.
func (p *QuantB) Bytes() int { return len(p.data) + 4*len(p.scale) + 4*len(p.colSum) }

// Scales returns the per-column scales (N values; do not modify).
func (p *QuantB) Scales() []float32 { return p.scale[:p.N] }

// HasVNNI reports whether the CPU has AVX-512 VNNI: the AVX-512 level then
// runs the int8 product with VPDPBUSD; without it, the AVX-512 level uses
// the AVX2 int8 kernel.
func HasVNNI() bool { return cpuid.CPU.Supports(cpuid.AVX512VNNI) }

// HasDotProd reports whether the CPU has the Armv8.2 dot-product
// instructions: the NEON level then runs the int8 product with SDOT;
// without them (ARMv8.0 cores such as the Cortex-A72 and A53), with
// widening multiplies (SMULL) and pairwise adds.
func HasDotProd() bool { return cpuid.CPU.Supports(cpuid.ASIMDDP) }

// qMicro is one level's int8 micro-kernel.
//
// kernel computes an mr×nr int32 tile t (row stride nr) over kg groups of
// 4 steps of K: t[r][j] = Σ_{p<4·kg} a[r·lda + p]·b(p, j), where a holds
// unsigned bytes (≤ 127) and b is the packed weight starting at a panel,
// panels ldb bytes apart. Every level gives the same (exact) sums.
type qMicro struct {
	mr, nr int
	kernel func(kg int, a *uint8, lda int, b *int8, ldb int, t *int32)
	// kernelC, when set, is kernel storing a whole tile straight into C
	// as dequant does (za and sa: the tile's rows' zero points and
	// scales; plus C's own value when addC ≠ 0), without the int32
	// tile's round trip.
	kernelC func(kg int, a *uint8, lda int, b *int8, ldb int, c *float32, ldc int, colSum *int32, sw, bias *float32, za *int32, sa *float32, addC int)
	// narrow and narrowC, when set, are kernel and kernelC for a narrow
	// weight (QuantB.narrow), over pairs of groups (the count rounded up:
	// K's padding holds at least one group of zeros past an odd count).
	narrow  func(kg int, a *uint8, lda int, b *int8, ldb int, t *int32)
	narrowC func(kg int, a *uint8, lda int, b *int8, ldb int, c *float32, ldc int, colSum *int32, sw, bias *float32, za *int32, sa *float32, addC int)
	// amx, when set, replaces kernel with a block kernel (amxDotU8): a
	// whole row block × up to qAMXCols columns per call, since each call
	// pays for loading the tile configuration. mr and nr are then the
	// granularity of rows (16) and columns (32) it takes.
	amx func(kb int, a *uint8, lda int, b *int8, ldb int, t *int32, ldt int, rows, cols int, pf *int8, pfn int, pfLast *int8)
	// quantRows and dequant are the row-wise helpers; their results are
	// bit-identical to quantRowGo and dequantGo.
	quantRow func(dst []uint8, src []float32) (scale float32, zero int32)
	dequant  func(dst []float32, acc []int32, zero int32, colSum []int32, sa float32, sw []float32, bias, res []float32)
	// add is Add for the residual (nil: Add), with Add's bits.
	add func(dst, a, b []float32)
}

var qLevel *qMicro

var qGeneric = qMicro{mr: 4, nr: qPanel, kernel: qKernelGo, quantRow: quantRowGo, dequant: dequantGo}

// qKernelGo is the generic micro-kernel (mr = 4, nr = qPanel).
func qKernelGo(kg int, a *uint8, lda int, b *int8, ldb int, t *int32) {
	const mr, nr = 4, qPanel
	as := unsafe.Slice(a, (mr-1)*lda+4*kg)
	bs := unsafe.Slice(b, kg*4*nr)
	ts := unsafe.Slice(t, mr*nr)
	for r := 0; r < mr; r++ {
		ar := as[r*lda : r*lda+4*kg]
		var acc [nr]int32
		for g := 0; g < kg; g++ {
			a0, a1, a2, a3 := int32(ar[4*g]), int32(ar[4*g+1]), int32(ar[4*g+2]), int32(ar[4*g+3])
			bg := bs[g*4*nr : g*4*nr+4*nr]
			for j := 0; j < nr; j++ {
				acc[j] += a0*int32(bg[4*j]) + a1*int32(bg[4*j+1]) + a2*int32(bg[4*j+2]) + a3*int32(bg[4*j+3])
			}
		}
		copy(ts[r*nr:r*nr+nr], acc[:])
	}
}

// quantRowGo quantizes one row of activations (see the package comment
// above): dst[i] = clamp(round(src[i]·(1/scale)) + zero, 0, 127). dst has
// room for len(src) bytes. An all-zero row (or one with a non-finite range)
// gives scale 0 and zero bytes.
func quantRowGo(dst []uint8, src []float32) (scale float32, zero int32) {
	var lo, hi float32
	for _, x := range src {
		if x < lo {
			lo = x
		}
		if x > hi {
			hi = x
		}
	}
	return quantRowRange(dst, src, lo, hi)
}

// quantParams turns a row's range (lo ≤ 0 ≤ hi) into its scale, the
// reciprocal used to quantize, and the zero point; ok is false when the
// row quantizes to all zeros.
func quantParams(lo, hi float32) (scale, inv float32, zero int32, ok bool) {
	scale = (hi - lo) / 127
	if !(scale > 0) || math.IsInf(float64(scale), 0) {
		return 0, 0, 0, false
	}
	inv = 1 / scale
	zero = int32(math.RoundToEven(float64(-lo * inv)))
	return scale, inv, max(0, min(127, zero)), true
}

func quantRowRange(dst []uint8, src []float32, lo, hi float32) (float32, int32) {
	scale, inv, zero, ok := quantParams(lo, hi)
	if !ok {
		clear(dst[:len(src)])
		return 0, 0
	}
	quantRowTail(dst, src, inv, zero)
	return scale, zero
}

// quantRowTail quantizes src into dst with a known reciprocal scale and
// zero point.
func quantRowTail(dst []uint8, src []float32, inv float32, zero int32) {
	for i, x := range src {
		q := quantValue(x*inv) + zero
		dst[i] = uint8(max(0, min(127, q)))
	}
}

// quantValue rounds half to even as VCVTPS2DQ does; NaN and values out of
// int32 range give the "integer indefinite" value, as on x86.
func quantValue(x float32) int32 {
	if !(x > -2147483648 && x < 2147483648) {
		return math.MinInt32
	}
	return int32(math.RoundToEven(float64(x)))
}

// dequantGo is the epilogue for one row segment without an activation:
// dst[j] = float32(acc[j] − zero·colSum[j]) · (sa·sw[j]) (+ bias[j])
// (+ res[j]), each operation rounded to float32 in that order (no fused
// multiply-add), so with res it gives Add's bits on the dequantised row.
// res may be dst itself (each res[j] is read before dst[j] is written).
func dequantGo(dst []float32, acc []int32, zero int32, colSum []int32, sa float32, sw []float32, bias, res []float32) {
	for j := range dst {
		v := float32(acc[j] - zero*colSum[j])
		s := float32(sa * sw[j])
		v = float32(v * s)
		if bias != nil {
			v = float32(v + bias[j])
		}
		if res != nil {
			v = float32(v + res[j])
		}
		dst[j] = v
	}
}

// qWideOnly, set only by tests and benchmarks, runs narrow weights on the
// wide kernel (the A/B baseline).
var qWideOnly bool

// qSeparateResidual, set only by tests, makes finish add the residual in
// a second pass as it did before dequant took it (the A/B baseline).
var qSeparateResidual bool

// GemmQuant computes C = act(A·B + bias) + residual with B quantized to
// int8 (QuantB) and A quantized per row on the fly (see the comment at the
// top of this file). A is M×K (row stride lda), C M×N (row stride ldc);
// the residual may be C itself.
func GemmQuant(t Threads, m int, a []float32, lda int, qb *QuantB, c []float32, ldc int, ep Epilogue) {
	checkMatrix("A", a, false, m, qb.K, lda)
	checkMatrix("C", c, false, m, qb.N, ldc)
	checkEpilogue(ep, m, qb.N)
	if m == 0 || qb.N == 0 {
		return
	}
	if qb.K == 0 {
		emptyProduct(m, qb.N, c, ldc, ep)
		return
	}
	if ep.Residual != nil && overlaps(ep.Residual, c) && !sameMatrix(ep.Residual, ep.LDR, c, ldc) {
		ep.Residual = copyMatrix(ep.Residual, m, qb.N, ep.LDR)
		ep.LDR = qb.N
	}
	mk := qLevel
	g := qCall{mk: mk, m: m, a: a, lda: lda, qb: qb, c: c, ldc: ldc, ep: ep}
	threads := t.n()
	g.plan(threads)
	s := qScratchPool.get()
	if s == nil {
		s = &qScratch{}
	}
	g.s = s
	mp := g.rowBlocks * g.mc
	s.a = grow(s.a, mp*qb.kp)
	s.sa = grow(s.sa, mp)
	s.za = grow(s.za, mp)
	if threads <= 1 || g.rowBlocks*g.colChunks == 1 {
		tl := s.local(g.tileLen())
		for rb := 0; rb < g.rowBlocks; rb++ {
			g.quantRows(rb)
		}
		for it := 0; it < g.rowBlocks*g.colChunks; it++ {
			g.runItem(tl, it/g.colChunks, it%g.colChunks)
		}
	} else {
		g.runParallel(threads)
	}
	g.s = nil
	qScratchPool.put(s)
}

// runParallel runs the call on up to threads goroutines: the rows are
// quantized, then the items computed (runPhased).
func (g *qCall) runParallel(threads int) { runPhased(&qParPool, *g, threads) }

var qParPool freeList[phasedPar[qCall, qLocal, *qCall]]

func (g *qCall) counts() (int, int) { return g.rowBlocks, g.rowBlocks * g.colChunks }
func (g *qCall) prepare(rb int)     { g.quantRows(rb) }
func (g *qCall) item(tl *qLocal, it int) {
	g.runItem(tl, it/g.colChunks, it%g.colChunks)
}
func (g *qCall) release(tl *qLocal) { qLocalPool.put(tl) }

func (g *qCall) local() *qLocal {
	tl := qLocalPool.get()
	if tl == nil {
		tl = &qLocal{}
	}
	tl.size(g.tileLen(), qAMXCols)
	return tl
}

// qCall is one GemmQuant call cut into row blocks × column chunks.
type qCall struct {
	mk        *qMicro
	m         int
	a         []float32
	lda       int
	qb        *QuantB
	c         []float32
	ldc       int
	ep        Epilogue
	s         *qScratch
	mc        int // rows per block, a multiple of mr
	rowBlocks int
	chunk     int // columns per chunk, a multiple of nr
	colChunks int
}

// qAMXRows and qAMXCols bound the block one amxDotU8 call computes: a row
// block of up to 256 rows (its quantized A, 768 KiB at K = 3072, stays in
// L2 while every column of B streams past it once) × 128 columns (the int32
// sums, up to 128 KiB, are dequantised row by row right after the call).
const (
	qAMXRows = 256
	qAMXCols = 128
)

// qScratch holds a call's quantized A; qLocal a worker's tile.
type qScratch struct {
	a      []uint8
	sa     []float32
	za     []int32
	single qLocal
}

type qLocal struct {
	tile []int32
	row  []float32
}

func (l *qLocal) size(tile, row int) {
	l.tile = grow(l.tile, tile)
	l.row = grow(l.row, row)
}

// local is the single-threaded call's qLocal; its row (the epilogue's
// buffer when the residual is C itself) is as wide as the widest block any
// level finishes at once.
func (s *qScratch) local(tile int) *qLocal {
	s.single.size(tile, qAMXCols)
	return &s.single
}

// tileLen is the int32 sums one kernel call leaves: an mr×nr tile, or the
// AMX kernel's block.
func (g *qCall) tileLen() int {
	if g.mk.amx != nil {
		return g.mc * qAMXCols
	}
	return g.mk.mr * g.mk.nr
}

var (
	qScratchPool freeList[qScratch]
	qLocalPool   freeList[qLocal]
)

func (g *qCall) plan(threads int) {
	if g.mk.amx != nil {
		g.mc, g.rowBlocks, g.chunk, g.colChunks = planAMX(threads, g.m, g.qb.N)
		return
	}
	g.mc, g.rowBlocks, g.chunk, g.colChunks = planTiles(threads, g.m, g.qb.N, g.mk.mr, g.mk.nr)
}

// planAMX cuts an M×N product for the AMX block kernels: row blocks of up
// to qAMXRows rows (a multiple of 16), so that one thread streams B only
// once for ViT-sized M; with several threads, column chunks (multiples of
// 32) enough for about three items per thread.
func planAMX(threads, m, n int) (mc, rowBlocks, chunk, colChunks int) {
	blocks := (m + qAMXRows - 1) / qAMXRows
	mc = roundUp((m+blocks-1)/blocks, 16)
	rowBlocks = (m + mc - 1) / mc
	tiles := (n + 31) / 32
	chunks := 1
	if threads > 1 {
		chunks = min(tiles, (3*threads+rowBlocks-1)/rowBlocks)
	}
	per := (tiles + chunks - 1) / chunks
	chunk = per * 32
	colChunks = (tiles + per - 1) / per
	return
}

// quantRows quantizes the rows of row block rb (rows past M are zeros).
func (g *qCall) quantRows(rb int) {
	kp, k := g.qb.kp, g.qb.K
	s := g.s
	for i := rb * g.mc; i < (rb+1)*g.mc; i++ {
		d := s.a[i*kp : i*kp+kp]
		if i >= g.m {
			clear(d)
			s.sa[i], s.za[i] = 0, 0
			continue
		}
		s.sa[i], s.za[i] = g.mk.quantRow(d[:k], g.a[i*g.lda:i*g.lda+k])
		clear(d[k:])
	}
}

// runItem computes one row block × column chunk: column tiles outer (a
// weight tile of nr columns × K stays in L1/L2), row tiles inner.
func (g *qCall) runItem(tl *qLocal, rb, cc int) {
	if g.mk.amx != nil {
		g.runItemAMX(tl, rb, cc)
		return
	}
	mk, qb := g.mk, g.qb
	mr, nr := mk.mr, mk.nr
	kp := qb.kp
	panelLen := kp * qPanel
	i0, i1 := rb*g.mc, min((rb+1)*g.mc, g.m)
	j0, j1 := cc*g.chunk, min((cc+1)*g.chunk, qb.N)
	direct, addC := g.directC()
	kern, kernC, kg := mk.kernel, mk.kernelC, qb.groups()
	if qb.narrow && mk.narrow != nil && !qWideOnly {
		kern, kernC, kg = mk.narrow, mk.narrowC, (kg+1)/2
	}
	for j := j0; j < j1; j += nr {
		w := min(nr, j1-j)
		b := &qb.data[j/qPanel*panelLen]
		for i := i0; i < i1; i += mr {
			if direct && w == nr && i+mr <= i1 {
				kernC(kg, &g.s.a[i*kp], kp, b, panelLen, &g.c[i*g.ldc+j], g.ldc,
					&qb.colSum[j], &qb.scale[j], &g.ep.Bias[j], &g.s.za[i], &g.s.sa[i], addC)
				continue
			}
			kern(kg, &g.s.a[i*kp], kp, b, panelLen, &tl.tile[0])
			g.finish(tl, tl.tile, nr, i, min(mr, i1-i), j, w)
		}
	}
	lateAct(&g.ep, g.c, g.ldc, i0, i1, j0, j1)
}

// directC is tilesIntoC for the int8 kernel, unless the test baseline
// adds residuals in a pass of their own (qSeparateResidual).
func (g *qCall) directC() (ok bool, addC int) {
	if g.mk.kernelC == nil || qSeparateResidual && g.ep.Residual != nil {
		return false, 0
	}
	return tilesIntoC(&g.ep, g.c, g.ldc)
}

// runItemAMX computes one row block × column chunk with the AMX block
// kernel, up to qAMXCols columns per call (all rows of the block at once),
// each call prefetching the panels of the next.
func (g *qCall) runItemAMX(tl *qLocal, rb, cc int) {
	qb := g.qb
	kp := qb.kp
	panelLen := kp * qPanel
	i0, i1 := rb*g.mc, min((rb+1)*g.mc, g.m)
	rows := roundUp(i1-i0, 16) // rows past M are zeros in g.s.a
	j0, j1 := cc*g.chunk, min((cc+1)*g.chunk, qb.N)
	last := &qb.data[len(qb.data)-1]
	for j := j0; j < j1; j += qAMXCols {
		w := min(qAMXCols, j1-j)
		cols := roundUp(w, 32) // N is padded to qNPad = 64
		pf, pfn := amxNext(qb.data, panelLen, j+cols, j0, j1, rows, cols, kp/qKPad)
		g.mk.amx(kp/qKPad, &g.s.a[i0*kp], kp, &qb.data[j/qPanel*panelLen], panelLen, &tl.tile[0], 4*cols, rows, cols, pf, pfn, last)
		g.finish(tl, tl.tile, cols, i0, i1-i0, j, w)
	}
	lateAct(&g.ep, g.c, g.ldc, i0, i1, j0, j1)
}

// amxNext is the prefetch stream of an AMX block call over cols columns ×
// rows rows × kb K steps: the panels of the call that follows (columns
// from next, or back at the chunk's first column j0 for the next row
// block), and how many cache lines per K step cover them. The stream
// stays inside data (the kernel stops at its last byte).
func amxNext[T any](data []T, panelLen, next, j0, j1, rows, cols, kb int) (*T, int) {
	if next >= j1 {
		next = j0
	}
	w := min(qAMXCols, j1-next)
	lines := w / qPanel * panelLen * int(unsafe.Sizeof(data[0])) / 64
	steps := cols / 32 * (rows + 16) / 32 * kb
	if lines == 0 || steps == 0 {
		return &data[0], 0
	}
	return &data[next/qPanel*panelLen], (lines + steps - 1) / steps
}

// finish dequantises the h×w sums at (i, j), rows ldt apart in tile, and
// applies the epilogue, straight into C unless the residual is C itself.
func (g *qCall) finish(tl *qLocal, tile []int32, ldt, i, h, j, w int) {
	ep := &g.ep
	qb := g.qb
	var bias []float32
	if ep.Bias != nil {
		bias = ep.Bias[j : j+w]
	}
	// After GemmQuant's check, a residual is either C itself or apart
	// from it.
	inPlace := ep.Residual != nil && sameMatrix(ep.Residual, ep.LDR, g.c, g.ldc)
	add := g.mk.add
	if add == nil {
		add = Add
	}
	// Without an activation between them, the residual rides in the
	// dequantising pass (in place too: each element is read before it is
	// written).
	fused := ep.Residual != nil && ep.Act == ActNone && !qSeparateResidual
	for r := 0; r < h; r++ {
		row := i + r
		dst := g.c[row*g.ldc+j : row*g.ldc+j+w]
		if fused {
			g.mk.dequant(dst, tile[r*ldt:r*ldt+w], g.s.za[row], qb.colSum[j:j+w], g.s.sa[row], qb.scale[j:j+w], bias, ep.Residual[row*ep.LDR+j:row*ep.LDR+j+w])
			continue
		}
		out := dst
		if inPlace {
			out = tl.row[:w]
		}
		g.mk.dequant(out, tile[r*ldt:r*ldt+w], g.s.za[row], qb.colSum[j:j+w], g.s.sa[row], qb.scale[j:j+w], bias, nil)
		if ep.Residual != nil {
			// Without a residual the activation runs later, per row of
			// the work item (lateAct).
			if ep.Act != ActNone {
				Activate(ep.Act, out, out)
			}
			add(dst, out, ep.Residual[row*ep.LDR+j:row*ep.LDR+j+w])
		}
	}
}
