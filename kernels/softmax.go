package kernels

import (
	"fmt"
	"math"
)

// Softmax replaces row with softmax(scale·row + bias): the row maximum is
// subtracted before exponentiating, so no finite input overflows. bias is
// nil or has the row's length (an additive attention bias or mask).
//
// Masks follow PyTorch: a -Inf entry gets probability 0; an entry masked
// with the float32 minimum (as timm masks) stays finite, so a row masked
// that way everywhere becomes uniform over its entries, exactly as
// torch.softmax gives. A row with no finite entry at all (every
// scale·x + bias is -Inf), where torch.softmax gives NaN, becomes all zeros
// here: the rule of fused attention kernels (FlashAttention) and of recent
// PyTorch's scaled_dot_product_attention, which makes a fully masked query
// attend to nothing (output 0) instead of poisoning the layer with NaN.
// NaN anywhere in the row makes the whole row NaN. Probabilities below
// 2^-126 (1.2e-38) may come out as 0 at the AVX2 level.
func Softmax(row []float32, scale float32, bias []float32) {
	SoftmaxTo(row, row, scale, bias)
}

// SoftmaxTo sets dst = softmax(scale·src + bias) with the rules of Softmax,
// leaving src as it is. dst and src must be the same slice or not overlap
// at all.
func SoftmaxTo(dst, src []float32, scale float32, bias []float32) {
	checkLen("SoftmaxTo", dst, src)
	checkOptional("SoftmaxTo bias", bias, len(src))
	if len(src) == 0 {
		return
	}
	if softmaxRow(dst, src, bias, scale, 0, 0) == negInf {
		softmaxMasked(dst, src, bias, scale)
	}
}

// SoftmaxRows applies SoftmaxTo to every row of a matrix with cols columns
// (len(src) a multiple of cols; dst of src's length, the same slice or not
// overlapping). bias is nil, one row (cols long, added to every row: a key
// mask) or one per row (len(src) long: a relative-position bias). On
// matrices beyond the caches it is faster than a loop of SoftmaxTo: while it
// works on one row it fetches the next.
func SoftmaxRows(dst, src []float32, cols int, scale float32, bias []float32) {
	checkLen("SoftmaxRows", dst, src)
	if cols <= 0 || len(src)%cols != 0 {
		panic(fmt.Sprintf("kernels: SoftmaxRows: %d values are not rows of %d columns", len(src), cols))
	}
	perRow := len(bias) == len(src) && len(src) != cols
	if bias != nil && len(bias) != cols && !perRow {
		panic(fmt.Sprintf("kernels: SoftmaxRows: bias length %d, want %d (one row), %d (every row) or nil", len(bias), cols, len(src)))
	}
	rows := len(src) / cols
	for r := 0; r < rows; r++ {
		lo, hi := r*cols, (r+1)*cols
		b := bias
		if perRow {
			b = bias[lo:hi]
		}
		ahead, aheadBias := 0, 0
		if r+1 < rows {
			ahead = 4 * cols
			if perRow {
				aheadBias = 4 * cols
			}
		}
		if softmaxRow(dst[lo:hi], src[lo:hi], b, scale, ahead, aheadBias) == negInf {
			softmaxMasked(dst[lo:hi], src[lo:hi], b, scale)
		}
	}
}

var negInf = float32(math.Inf(-1))

// softmaxMasked writes the fully-masked rule: zeros, or NaN where a NaN
// hid behind the -Inf maximum.
func softmaxMasked(dst, src, bias []float32, scale float32) {
	fill := float32(0)
	for i, x := range src {
		v := scale * x
		if bias != nil {
			v += bias[i]
		}
		if v != v {
			fill = float32(math.NaN())
			break
		}
	}
	for i := range dst {
		dst[i] = fill
	}
}

// The softmax primitives at the selected level. A bias of length 0 means
// none.
var (
	// softmaxRowImpl computes the whole softmax of one row and returns the
	// maximum of scale·src + bias; when that is -Inf it writes nothing.
	// ahead and aheadBias (bytes, 0 for none) say where the next row of src
	// and dst, and of bias, lie, for the assembly to prefetch.
	softmaxRowImpl = softmaxRowGeneric
	// softmaxMaxImpl returns max(scale·src + bias) (-Inf when none is
	// greater; NaNs may be ignored).
	softmaxMaxImpl = softmaxMaxGeneric
	// softmaxExpImpl sets dst = e^(scale·src + bias - shift) and returns
	// the sum of dst.
	softmaxExpImpl = softmaxExpGeneric
)

// softmaxLongRow is the row length from which the sum of the exponentials
// is formed in float64 from partial sums of softmaxSumBlock values each.
// The assembly sums in float32 vector lanes: within the 2e-6 the golden
// tests allow up to ~12k entries (8 or 16 lanes keep each partial sum
// short; 4097, a 1024² image at patch 16, is well inside), but at 16385
// (AVX2) and 65537 (AVX-512) it passes that bound. The three-pass path costs
// about 1.7× the fused kernel (its scaling runs in Go), on rows that long.
const (
	softmaxLongRow  = 8192
	softmaxSumBlock = 2048
)

// softmaxRow is softmaxRowImpl for rows of any length: rows up to
// softmaxLongRow go to the fused implementation in one call; longer ones take
// three passes (max, exponentials in blocks summed in float64, scale).
func softmaxRow(dst, src, bias []float32, scale float32, ahead, aheadBias int) float32 {
	if len(src) <= softmaxLongRow {
		return softmaxRowImpl(dst, src, bias, scale, ahead, aheadBias)
	}
	mx := softmaxMaxImpl(src, bias, scale)
	if mx == negInf {
		return mx
	}
	scaleInPlace(dst, 1/softmaxExpSum(dst, src, bias, scale, mx))
	return mx
}

// scaleInPlace sets x *= s, four at a time (the compiler keeps the
// independent multiplies in flight; it does not vectorise this loop).
func scaleInPlace(x []float32, s float32) {
	i := 0
	for ; i+4 <= len(x); i += 4 {
		q := x[i : i+4 : i+4]
		q[0] *= s
		q[1] *= s
		q[2] *= s
		q[3] *= s
	}
	for ; i < len(x); i++ {
		x[i] *= s
	}
}

// softmaxExpSum is softmaxExpImpl with the sum of a long row accumulated
// in float64 over blocks of softmaxSumBlock.
func softmaxExpSum(dst, src, bias []float32, scale, shift float32) float32 {
	if len(src) <= softmaxLongRow {
		return softmaxExpImpl(dst, src, bias, scale, shift)
	}
	var sum float64
	for lo := 0; lo < len(src); lo += softmaxSumBlock {
		hi := min(lo+softmaxSumBlock, len(src))
		var b []float32
		if len(bias) > 0 {
			b = bias[lo:hi]
		}
		sum += float64(softmaxExpImpl(dst[lo:hi], src[lo:hi], b, scale, shift))
	}
	return float32(sum)
}

func softmaxRowGeneric(dst, src, bias []float32, scale float32, _, _ int) float32 {
	mx := softmaxMaxImpl(src, bias, scale)
	if mx == negInf {
		return mx
	}
	sum := softmaxExpImpl(dst, src, bias, scale, mx)
	inv := 1 / sum
	for i := range dst {
		dst[i] *= inv
	}
	return mx
}

func softmaxMaxGeneric(src, bias []float32, scale float32) float32 {
	mx := negInf
	for i, x := range src {
		v := scale * x
		if len(bias) > 0 {
			v += bias[i]
		}
		if v > mx {
			mx = v
		}
	}
	return mx
}

// softmaxExpGeneric sums in float64: a float32 sum taken one term at a
// time drifts with the row length (relative error 4.3e-6 at 4097 terms,
// twice the golden tolerance), and the purego, wasm, 386, arm and riscv64
// builds run this code for every row.
func softmaxExpGeneric(dst, src, bias []float32, scale, shift float32) float32 {
	var sum float64
	for i, x := range src {
		v := scale * x
		if len(bias) > 0 {
			v += bias[i]
		}
		e := float32(math.Exp(float64(v - shift)))
		dst[i] = e
		sum += float64(e)
	}
	return float32(sum)
}

// OnlineSoftmax is the streaming form of Softmax for fused attention: a row
// of scores arrives in chunks (key blocks) and is never held whole. It keeps
// the running maximum m of scale·x + bias and the running sum
// s = Σ e^(v - m) over the entries seen so far. Each Update exponentiates a
// chunk against the new maximum and returns the factor by which everything
// accumulated before (s itself, and the caller's partial P·V row) must be
// multiplied, e^(m_old - m_new). Two states over disjoint parts of one row
// combine with Merge, so the key range can also be split across workers.
// At the end the row's softmax is each exponentiated entry times 1/Sum
// (Norm), and the attention output is the accumulated row times Norm.
//
// The zero value is the empty state. Masks follow Softmax: a chunk with no
// finite entry adds nothing, and a row that never saw one has Norm 0, so its
// output is all zeros.
type OnlineSoftmax struct {
	Max float32 // running maximum of scale·x + bias (meaningless while Sum is 0)
	Sum float32 // Σ e^(v - Max) over the entries seen; 0 means none finite yet
}

// Update takes the next chunk of the row: it sets dst = e^(scale·src + bias
// - Max') with Max' the new running maximum, adds dst to Sum after rescaling
// Sum to Max', and returns alpha = e^(Max - Max'), the factor for outputs
// accumulated before this chunk (0 when there were none, 1 when the maximum
// did not move). dst and src must be the same slice or not overlap; bias is
// nil or has src's length. A chunk without a finite entry sets dst to zeros
// and returns 1.
func (o *OnlineSoftmax) Update(dst, src []float32, scale float32, bias []float32) (alpha float32) {
	checkLen("OnlineSoftmax.Update", dst, src)
	checkOptional("OnlineSoftmax.Update bias", bias, len(src))
	if len(src) == 0 {
		return 1
	}
	cm := softmaxMaxImpl(src, bias, scale)
	if !(cm > negInf) { // -Inf (fully masked) or NaN
		softmaxMasked(dst, src, bias, scale)
		if cm != cm {
			o.Sum = float32(math.NaN())
		}
		return 1
	}
	m := cm
	switch {
	case o.Sum == 0:
		alpha = 0
	case cm > o.Max:
		alpha = expScalar(o.Max - cm)
	default:
		alpha, m = 1, o.Max
	}
	s := softmaxExpSum(dst, src, bias, scale, m)
	o.Sum = o.Sum*alpha + s
	o.Max = m
	return alpha
}

// Merge folds p, the state of another, disjoint part of the same row, into
// o. It returns the factors by which o's and p's accumulated outputs must be
// multiplied before they are added: e^(o.Max - Max') and e^(p.Max - Max').
func (o *OnlineSoftmax) Merge(p OnlineSoftmax) (alpha, beta float32) {
	switch {
	case p.Sum == 0:
		return 1, 0
	case o.Sum == 0:
		*o = p
		return 0, 1
	}
	m := max(o.Max, p.Max)
	alpha, beta = expScalar(o.Max-m), expScalar(p.Max-m)
	o.Sum = o.Sum*alpha + p.Sum*beta
	o.Max = m
	return alpha, beta
}

// Norm returns 1/Sum, the factor that turns the accumulated exponentials
// (or P·V row) into the softmax (or attention output); 0 for a row with no
// finite entry.
func (o OnlineSoftmax) Norm() float32 {
	if o.Sum == 0 {
		return 0
	}
	return 1 / o.Sum
}

func expScalar(x float32) float32 { return float32(math.Exp(float64(x))) }
