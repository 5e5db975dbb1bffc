package kernels

import (
	"fmt"
	"math"
	"sync"
)

// InterpMode is a mode of PyTorch's F.interpolate.
type InterpMode int

// The interpolation modes.
const (
	InterpNearest  InterpMode = iota // mode="nearest" (legacy nearest: floor(i·in/out))
	InterpBilinear                   // mode="bilinear"
	InterpBicubic                    // mode="bicubic"
)

// String returns the mode's name as PyTorch's F.interpolate spells it.
func (m InterpMode) String() string {
	switch m {
	case InterpNearest:
		return "nearest"
	case InterpBilinear:
		return "bilinear"
	case InterpBicubic:
		return "bicubic"
	}
	return fmt.Sprintf("InterpMode(%d)", int(m))
}

// Taps is the resampling of one axis from In() to Out() samples: output o
// is Σ_j w[o,j]·input[i[o,j]] over its taps j = 0, 1, … in that order. Build it once (InterpTaps, MatrixTaps) and reuse it for any number
// of channels and rows; it is read-only after construction.
type Taps struct {
	in, out  int
	width    int       // slots per output in index and weight
	count    []int     // taps used by each output (≤ width)
	index    []int     // out×width source indices, each in [0, in)
	weight   []float32 // out×width
	identity bool      // output o is input o, bit for bit: the pass can be skipped
}

// In returns the input length of the axis.
func (t *Taps) In() int { return t.in }

// Out returns the output length of the axis.
func (t *Taps) Out() int { return t.out }

// Count returns the number of taps over all outputs: the multiply-adds
// per channel of one pass along this axis.
func (t *Taps) Count() int {
	if t.identity {
		return 0 // the pass is skipped
	}
	n := 0
	for _, c := range t.count {
		n += c
	}
	return n
}

// ResampleFlops is the floating-point work of Resample (2 per multiply-add)
// for c channels.
func ResampleFlops(th, tw *Taps, c int) float64 {
	return 2 * float64(c) * (float64(th.in)*float64(tw.Count()) + float64(th.Count())*float64(tw.out))
}

// Matrix returns the axis as a dense Out×In matrix: entry (o, i) is the sum
// of the weights output o gives input i, added in tap order. It equals the
// resampling of the one-hot vector e_i (the columns are the resized basis).
func (t *Taps) Matrix() []float32 {
	m := make([]float32, t.out*t.in)
	for o := 0; o < t.out; o++ {
		row := m[o*t.in : (o+1)*t.in]
		for j := 0; j < t.count[o]; j++ {
			row[t.index[o*t.width+j]] += t.weight[o*t.width+j]
		}
	}
	return m
}

func newTaps(in, out, width int) *Taps {
	return &Taps{in: in, out: out, width: width,
		count: make([]int, out), index: make([]int, out*width), weight: make([]float32, out*width)}
}

func identityTaps(n int) *Taps {
	t := newTaps(n, n, 1)
	for i := range n {
		t.count[i], t.index[i], t.weight[i] = 1, i, 1
	}
	t.identity = true
	return t
}

// MatrixTaps makes the axis resampling whose output o is Σ_i m[o·in+i]·x[i]
// (m is out×in, row-major): a dense operator such as a Fourier resampler.
// Zero weights are kept, so every output sums all in inputs in order.
func MatrixTaps(in, out int, m []float32) *Taps {
	checkTapsAxis("MatrixTaps", in, out)
	if !sameProduct(len(m), in, out) {
		panic(fmt.Sprintf("kernels: MatrixTaps: %d weights for a %d×%d matrix", len(m), out, in))
	}
	t := newTaps(in, out, in)
	copy(t.weight, m)
	t.identity = in == out
	for o := range out {
		t.count[o] = in
		for i := range in {
			t.index[o*in+i] = i
			if w := m[o*in+i]; (i == o && w != 1) || (i != o && w != 0) {
				t.identity = false
			}
		}
	}
	return t
}

func checkTapsAxis(name string, in, out int) {
	if in <= 0 || out <= 0 {
		panic(fmt.Sprintf("kernels: %s: sizes %d → %d must be positive", name, in, out))
	}
}

// InterpTaps returns the taps F.interpolate (PyTorch, CPU, float32) uses
// along one axis of length in resized to out, with its float32 arithmetic:
//
//   - nearest: source floor(o·(in/out)) clamped to in-1, except that
//     out == in and out == 2·in use o and o/2. align_corners and antialias
//     do not apply (antialias panics, as PyTorch refuses it).
//   - bilinear, bicubic without antialias: source coordinate
//     (o+0.5)·in/out − 0.5 (align_corners false; bilinear clamps it at 0) or
//     o·(in−1)/(out−1) (true); bilinear takes the two neighbours, bicubic four
//     with Keys' kernel a = −0.75 and indices clamped to the edge.
//   - antialias (PIL-style): centre (o+0.5)·scale, support 1 (bilinear) or 2
//     (bicubic, a = −0.5) widened by the scale when downsampling, taps
//     outside the input dropped, weights normalised by their sum.
//
// When out == in every mode is the identity and the taps say so, so the
// pass is skipped, as PyTorch's results are exactly the input there.
func InterpTaps(in, out int, mode InterpMode, alignCorners, antialias bool) *Taps {
	checkTapsAxis("InterpTaps", in, out)
	if in == out && mode >= InterpNearest && mode <= InterpBicubic && !(antialias && mode == InterpNearest) {
		return identityTaps(in)
	}
	return interpTaps(in, out, mode, alignCorners, antialias, areaScale(in, out, alignCorners))
}

// InterpScaledTaps is InterpTaps for F.interpolate called with
// scale_factor (and out = ⌊in·scaleFactor⌋) instead of a size: ATen then
// maps coordinates with 1/scaleFactor rather than in/out, which differs
// when scaleFactor is not out/in exactly (facebookresearch/dinov2 passes
// (out + 0.1)/in). align_corners is false.
func InterpScaledTaps(in, out int, mode InterpMode, antialias bool, scaleFactor float64) *Taps {
	checkTapsAxis("InterpScaledTaps", in, out)
	if !(scaleFactor > 0) || math.IsInf(scaleFactor, 0) {
		panic(fmt.Sprintf("kernels: InterpScaledTaps: scale factor %g must be positive and finite", scaleFactor))
	}
	return interpTaps(in, out, mode, false, antialias, float32(1/scaleFactor))
}

// interpTaps builds the taps with the coordinate scale (output to input)
// given.
func interpTaps(in, out int, mode InterpMode, alignCorners, antialias bool, scale float32) *Taps {
	if antialias && mode == InterpNearest {
		panic("kernels: InterpTaps: antialias applies to bilinear and bicubic only")
	}
	switch {
	case mode == InterpNearest:
		return nearestTaps(in, out)
	case antialias:
		return antialiasTaps(in, out, mode, alignCorners, scale)
	case mode == InterpBilinear:
		return bilinearTaps(in, out, alignCorners, scale)
	case mode == InterpBicubic:
		return bicubicTaps(in, out, alignCorners, scale)
	}
	panic(fmt.Sprintf("kernels: InterpTaps: unknown mode %v", mode))
}

// areaScale is ATen's area_pixel_compute_scale in float32.
func areaScale(in, out int, alignCorners bool) float32 {
	if alignCorners {
		if out > 1 {
			return float32(in-1) / float32(out-1)
		}
		return 0
	}
	return float32(in) / float32(out)
}

func nearestTaps(in, out int) *Taps {
	t := newTaps(in, out, 1)
	scale := float32(in) / float32(out)
	for o := range out {
		var i int
		if out == 2*in {
			i = o >> 1
		} else {
			i = min(int(float32(math.Floor(float64(float32(o)*scale)))), in-1)
		}
		t.count[o], t.index[o], t.weight[o] = 1, i, 1
	}
	return t
}

// bilinearTaps follows ATen's compute_source_index_and_lambda, which takes
// the float scale into its CPU accumulate type (double) for the source
// coordinate and rounds only the lambdas to float.
func bilinearTaps(in, out int, alignCorners bool, ratio float32) *Taps {
	t := newTaps(in, out, 2)
	scale := float64(ratio)
	for o := range out {
		src := scale * float64(o)
		if !alignCorners {
			src = max(scale*(float64(o)+0.5)-0.5, 0)
		}
		i0 := int(src) // src ≥ 0: truncation is floor
		i1 := i0
		if i0 < in-1 {
			i1++
		}
		l1 := float32(min(max(src-float64(i0), 0), 1))
		t.count[o] = 2
		t.index[2*o], t.index[2*o+1] = i0, i1
		t.weight[2*o], t.weight[2*o+1] = 1-l1, l1
	}
	return t
}

// cubicConv1 and cubicConv2 are ATen's Keys kernel pieces for |x| ≤ 1 and
// 1 < |x| < 2, in float32 with the fused multiply-adds the compiler
// contracts them into (GCC's default -ffp-contract=fast on FMA builds):
// without them the weights differ by a few ulps, which the golden files show.
func cubicConv1(x, a float32) float32 { return fusedMulAdd32(fusedMulAdd32(a+2, x, -(a+3))*x, x, 1) }
func cubicConv2(x, a float32) float32 {
	return fusedMulAdd32(fusedMulAdd32(fusedMulAdd32(a, x, -5*a), x, 8*a), x, -4*a)
}

// fusedMulAdd32 is x·y+z rounded once to float32 (the float64 fused result is
// exact for float32 products; the second rounding almost never differs).
func fusedMulAdd32(x, y, z float32) float32 {
	return float32(math.FMA(float64(x), float64(y), float64(z)))
}

// bicubicTaps follows ATen's cubic weights: the source coordinate in double
// (as for bilinear), its fraction rounded to float, float coefficients.
func bicubicTaps(in, out int, alignCorners bool, ratio float32) *Taps {
	const a = -0.75
	t := newTaps(in, out, 4)
	scale := float64(ratio)
	for o := range out {
		src := scale * float64(o)
		if !alignCorners {
			src = scale*(float64(o)+0.5) - 0.5
		}
		i := int(math.Floor(src))
		f := float32(src - float64(i))
		g := float32(1.0 - float64(f))
		w := [4]float32{cubicConv2(float32(float64(f)+1), a), cubicConv1(f, a), cubicConv1(g, a), cubicConv2(float32(float64(g)+1), a)}
		t.count[o] = 4
		for j := range 4 {
			t.index[4*o+j] = min(max(i-1+j, 0), in-1)
			t.weight[4*o+j] = w[j]
		}
	}
	return t
}

// aaLinear and aaCubic are ATen's antialias filters (PIL's triangle and
// bicubic with a = −0.5), with its mix of float and double arithmetic and
// the contracted multiply-adds of its float branch.
func aaLinear(x float32) float32 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return float32(1 - float64(x))
	}
	return 0
}

func aaCubic(x float32) float32 {
	const a = -0.5
	if x < 0 {
		x = -x
	}
	if x < 1 {
		d := float64(x)
		return float32(((a+2)*d-(a+3))*d*d + 1)
	}
	if x < 2 {
		return float32(float64(fusedMulAdd32(fusedMulAdd32(x-5, x, 8), x, -4)) * a)
	}
	return 0
}

func antialiasTaps(in, out int, mode InterpMode, alignCorners bool, scale float32) *Taps {
	size, filter := 2.0, aaLinear
	if mode == InterpBicubic {
		size, filter = 4.0, aaCubic
	}
	support := float32(size * 0.5)
	invScale := float32(1)
	if scale >= 1 {
		support = float32(size * 0.5 * float64(scale))
		invScale = float32(1 / float64(scale))
	}
	width := int(math.Ceil(float64(support)))*2 + 1
	t := newTaps(in, out, width)
	for o := range out {
		center := float32(float64(scale) * (float64(o) + 0.5))
		xmin := max(int(float64(center-support)+0.5), 0) // C++ casts truncate toward zero, as Go's do
		xsize := min(int(float64(center+support)+0.5), in) - xmin
		xsize = min(max(xsize, 0), width)
		w := t.weight[o*width : o*width+xsize]
		var total float32
		for j := range w {
			w[j] = filter(float32((float64(float32(j+xmin)-center) + 0.5) * float64(invScale)))
			total += w[j]
		}
		if total != 0 {
			for j := range w {
				w[j] /= total
			}
		}
		t.count[o] = xsize
		for j := range xsize {
			t.index[o*width+j] = xmin + j
		}
	}
	return t
}

// Resample resizes src, an inH×inW×c channels-last image (a position table:
// H×W tokens of c values), into dst (outH×outW×c), where th resamples the
// height axis (inH → outH) and tw the width (inW → outW). It runs a width
// pass then a height pass, as PyTorch's separable antialias does; without
// antialias this is also PyTorch's order of operations (each output is
// Σ_h w_h·(Σ_w w_w·x)). dst must not overlap src. Rows are split over up
// to t goroutines; the result does not depend on t.
func Resample(t Threads, dst, src []float32, c int, th, tw *Taps) {
	inH, inW, outH, outW := th.in, tw.in, th.out, tw.out
	if c < 0 {
		panic(fmt.Sprintf("kernels: Resample: negative channel count %d", c))
	}
	inLen, outLen := checkProduct("Resample", inH, inW, c), checkProduct("Resample", outH, outW, c)
	midLen := checkProduct("Resample", inH, outW, c)
	if len(src) < inLen {
		panic(fmt.Sprintf("kernels: Resample: src has %d values, need %d×%d×%d", len(src), inH, inW, c))
	}
	if len(dst) < outLen {
		panic(fmt.Sprintf("kernels: Resample: dst has %d values, need %d×%d×%d", len(dst), outH, outW, c))
	}
	if c == 0 {
		return
	}
	mid := src[:inLen]
	if !tw.identity {
		if th.identity {
			mid = dst[:outLen]
		} else {
			buf := getResampleScratch(midLen)
			defer resampleScratchPool.Put(buf)
			mid = (*buf)[:midLen]
		}
		rowIn, rowOut := inW*c, outW*c
		offs := tw.offsets(c)
		resampleRows(t, inH, rowOut*tw.width, func(h0, h1 int) {
			for h := h0; h < h1; h++ {
				srcRow, midRow := src[h*rowIn:(h+1)*rowIn], mid[h*rowOut:(h+1)*rowOut]
				for o := range outW {
					tw.sum(midRow[o*c:(o+1)*c], srcRow, offs, o)
				}
			}
		})
	}
	if th.identity {
		if tw.identity {
			copy(dst, mid)
		}
		return
	}
	row := outW * c
	offs := th.offsets(row)
	resampleRows(t, outH, row*th.width, func(o0, o1 int) {
		for o := o0; o < o1; o++ {
			th.sum(dst[o*row:(o+1)*row], mid, offs, o)
		}
	})
}

// resampleScratchPool holds the intermediate buffers of Resample:
// allocating (and zeroing, and faulting in) megabytes per call costs more
// than the resampling itself.
var resampleScratchPool sync.Pool

// getResampleScratch returns a pooled buffer of at least n values (contents
// undefined); give it back with resampleScratchPool.Put.
func getResampleScratch(n int) *[]float32 {
	if p, ok := resampleScratchPool.Get().(*[]float32); ok && cap(*p) >= n {
		return p
	}
	b := make([]float32, n)
	return &b
}

// offsets scales the tap indices by stride: element offsets of the rows
// the taps read.
func (t *Taps) offsets(stride int) []int {
	offs := make([]int, len(t.index))
	for i, x := range t.index {
		offs[i] = x * stride
	}
	return offs
}

// sum computes output o of the axis for a whole row of values:
// dst[k] = Σ_j w[j]·src[offs[j]+k].
func (t *Taps) sum(dst, src []float32, offs []int, o int) {
	n := t.count[o]
	weightedRowSum(dst, src, offs[o*t.width:o*t.width+n], t.weight[o*t.width:o*t.width+n])
}

// resampleRows splits rows [0, n) over up to t goroutines when the work
// (n·perRow multiply-adds) is worth it.
func resampleRows(t Threads, n, perRow int, f func(lo, hi int)) {
	const minWork = 1 << 16 // below this a goroutine costs more than it saves
	g := min(t.n(), n, max(n*perRow/minWork, 1))
	if g <= 1 {
		f(0, n)
		return
	}
	parallelFor(g, g, func(i int) { f(n*i/g, n*(i+1)/g) })
}

// weightedRowSum sets dst[k] = Σ_j w[j]·src[offs[j]+k] for k < len(dst),
// adding the taps in order j = 0, 1, …. It checks that every row it reads
// lies inside src, then runs the selected implementation.
func weightedRowSum(dst, src []float32, offs []int, w []float32) {
	if len(offs) != len(w) {
		panic(fmt.Sprintf("kernels: weightedRowSum: %d offsets for %d weights", len(offs), len(w)))
	}
	n := len(dst)
	if n == 0 {
		return
	}
	for _, off := range offs {
		if off < 0 || off > len(src)-n {
			panic(fmt.Sprintf("kernels: weightedRowSum: row at %d of %d values leaves src (%d values)", off, n, len(src)))
		}
	}
	if len(w) == 0 {
		clear(dst)
		return
	}
	weightedRowSumImpl(dst, src, offs, w)
}

// weightedRowSumImpl is the selected implementation; callers have checked
// the bounds and that there is at least one tap and one value.
var weightedRowSumImpl = weightedRowSumGeneric

func weightedRowSumGeneric(dst, src []float32, offs []int, w []float32) {
	n := len(dst)
	x := src[offs[0] : offs[0]+n]
	for k := range dst {
		dst[k] = w[0] * x[k]
	}
	for j := 1; j < len(offs); j++ {
		x, wj := src[offs[j]:offs[j]+n], w[j]
		for k := range dst {
			dst[k] += wj * x[k]
		}
	}
}
