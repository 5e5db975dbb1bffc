package posenc

import (
	"fmt"
	"math"
	"runtime"

	"github.com/anyres/anyres/kernels"
)

// maxPatchSide bounds patch-embedding kernel sides (FlexiViT uses 8 to 48).
const maxPatchSide = 256

// ResizePatchEmbed resizes a patch-embedding convolution kernel (outCh ×
// inCh × old[0] × old[1], PyTorch's Conv2d weight layout) to new[0] ×
// new[1] so that the new patches give the same tokens as resized old ones:
// timm's resample_patch_embed (FlexiViT's pseudo-inverse resize). With M the
// matrix that resizes an old-size patch to the new size (opt's method,
// built by resizing each one-hot basis image), each kernel slice w becomes
// pinv(Mᵀ)·w, so that ⟨resize(x), w_new⟩ = ⟨x, w⟩ for every patch x.
//
// F.interpolate is separable, so M is the Kronecker product Mh ⊗ Mw of the
// per-axis resize matrices, and so is its SVD: the pseudo-inverse is
// applied per axis from the two small SVDs (one-sided Jacobi, float64),
// which takes microseconds where the dense 1024×256 pseudo-inverse of a
// 16→32 resize would take a large part of a second. Singular values
// σh·σw below max(rows, cols)·2⁻²³ times the largest count as zero:
// torch.linalg.pinv's default cut-off for the float32 matrix timm builds.
func ResizePatchEmbed(kernel []float32, outCh, inCh int, old, new [2]int, opt ResampleOptions) ([]float32, error) {
	if outCh <= 0 || inCh <= 0 {
		return nil, fmt.Errorf("posenc: patch embedding with %d output and %d input channels: counts must be positive", outCh, inCh)
	}
	for _, s := range [...][2]int{old, new} {
		if s[0] <= 0 || s[1] <= 0 || s[0] > maxPatchSide || s[1] > maxPatchSide {
			return nil, fmt.Errorf("posenc: patch size %d×%d: sides must be in 1…%d", s[0], s[1], maxPatchSide)
		}
	}
	if err := opt.validate(); err != nil {
		return nil, err
	}
	slices := outCh * inCh
	oldN, newN := old[0]*old[1], new[0]*new[1]
	if slices > MaxTableValues/max(oldN, newN) {
		return nil, fmt.Errorf("posenc: patch embedding %d×%d×%v → %v: too large", outCh, inCh, old, new)
	}
	if len(kernel) != slices*oldN {
		return nil, fmt.Errorf("posenc: patch embedding kernel has %d values, want %d×%d×%d×%d = %d",
			len(kernel), outCh, inCh, old[0], old[1], slices*oldN)
	}
	if old == new {
		return append([]float32(nil), kernel...), nil
	}
	r := patchResizer{old: old, new: new, h: axisPinv(opt, old[0], new[0]), w: axisPinv(opt, old[1], new[1])}
	r.cut = float64(max(oldN, newN)) * 0x1p-23 * r.h.s[0] * r.w.s[0]
	r.wvT = transposeF64(r.w.v, new[1], r.w.r)
	out := make([]float32, slices*newN)
	// Slices are independent: split them over the CPUs (each result is
	// computed the same way whatever the split).
	workers := min(runtime.GOMAXPROCS(0), max(slices*newN*(old[0]+new[0])>>16, 1), slices)
	kernels.Parallel(kernels.Threads(workers), workers, func(g int) {
		sc := r.scratch()
		for sl := slices * g / workers; sl < slices*(g+1)/workers; sl++ {
			r.apply(out[sl*newN:(sl+1)*newN], kernel[sl*oldN:(sl+1)*oldN], sc)
		}
	})
	return out, nil
}

// patchResizer applies pinv(Mhᵀ ⊗ Mwᵀ) to kernel slices from the per-axis
// SVDs, zeroing the products of singular values below cut.
type patchResizer struct {
	old, new [2]int
	h, w     axisSVD
	wvT      []float64 // w.v transposed (rw × new[1]), for contiguous rows
	cut      float64
}

type patchScratch struct{ tmp, c, t2, row []float64 }

func (r *patchResizer) scratch() *patchScratch {
	return &patchScratch{tmp: make([]float64, r.old[0]*r.w.r), c: make([]float64, r.h.r*r.w.r),
		t2: make([]float64, r.h.r*r.new[1]), row: make([]float64, r.new[1])}
}

// apply sets o (new[0]×new[1]) = Vh·(Σ⁺ ∘ (Uhᵀ·k·Uw))·Vwᵀ for one kernel
// slice k (old[0]×old[1]).
func (r *patchResizer) apply(o, k []float32, sc *patchScratch) {
	old, new, h, w := r.old, r.new, &r.h, &r.w
	tmp, c, t2, row := sc.tmp, sc.c, sc.t2, sc.row
	// tmp = K·Uw (old[0] × rw)
	clear(tmp)
	for a := range old[0] {
		ta := tmp[a*w.r : (a+1)*w.r]
		for b := range old[1] {
			axpyF64(ta, float64(k[a*old[1]+b]), w.u[b*w.r:(b+1)*w.r])
		}
	}
	// c = Uhᵀ·tmp (rh × rw), divided by σh·σw (zero below the cut-off)
	clear(c)
	for a := range old[0] {
		for i := range h.r {
			axpyF64(c[i*w.r:(i+1)*w.r], h.u[a*h.r+i], tmp[a*w.r:(a+1)*w.r])
		}
	}
	for i := range h.r {
		for j := range w.r {
			if s := h.s[i] * w.s[j]; s > r.cut {
				c[i*w.r+j] /= s
			} else {
				c[i*w.r+j] = 0
			}
		}
	}
	// t2 = c·Vwᵀ (rh × new[1])
	clear(t2)
	for i := range h.r {
		ti := t2[i*new[1] : (i+1)*new[1]]
		for j := range w.r {
			axpyF64(ti, c[i*w.r+j], r.wvT[j*new[1]:(j+1)*new[1]])
		}
	}
	// o = Vh·t2 (new[0] × new[1])
	for p := range new[0] {
		clear(row)
		for i := range h.r {
			axpyF64(row, h.v[p*h.r+i], t2[i*new[1]:(i+1)*new[1]])
		}
		for q, v := range row {
			o[p*new[1]+q] = float32(v)
		}
	}
}

// axisSVD is the SVD of one axis's Aᵀ = (resize matrix)ᵀ, old × new:
// Aᵀ = U·diag(s)·Vᵀ with U old×r and V new×r, s descending.
type axisSVD struct {
	r    int
	u, v []float64
	s    []float64
}

// axisPinv builds the resize matrix of one axis (the taps' dense form: the
// columns are the resized one-hot basis vectors) and the SVD of its
// transpose.
func axisPinv(opt ResampleOptions, old, new int) axisSVD {
	m32 := opt.axisTaps(old, new).Matrix() // new × old
	m := make([]float64, len(m32))
	for i, v := range m32 {
		m[i] = float64(v)
	}
	// Aᵀ = Mᵀ (old × new) = U Σ Vᵀ  ⇔  M = V Σ Uᵀ: decompose M (new × old).
	vv, s, uu := jacobiSVD(m, new, old)
	return axisSVD{r: len(s), u: uu, v: vv, s: s}
}

// jacobiSVD returns the thin singular value decomposition of the m×n row-major
// matrix a: a = U·diag(s)·Vᵀ with U m×r and V n×r (r = min(m, n),
// orthonormal columns) and s descending, by one-sided Jacobi rotations
// (Hestenes), which is accurate to a few ulps of the largest singular value
// for the small, well-conditioned matrices of resampling.
func jacobiSVD(a []float64, m, n int) (u, s, v []float64) {
	if m < n {
		vt, st, ut := jacobiSVD(transposeF64(a, m, n), n, m)
		return ut, st, vt
	}
	// Orthogonalise the columns of w = a·V by rotating pairs of columns.
	w := append([]float64(nil), a...)
	vm := make([]float64, n*n)
	for i := range n {
		vm[i*n+i] = 1
	}
	for sweep := 0; sweep < 80; sweep++ {
		rotated := false
		for p := 0; p < n-1; p++ {
			for q := p + 1; q < n; q++ {
				var alpha, beta, gamma float64
				for i := range m {
					wp, wq := w[i*n+p], w[i*n+q]
					alpha += wp * wp
					beta += wq * wq
					gamma += wp * wq
				}
				if gamma == 0 || math.Abs(gamma) <= 1e-15*math.Sqrt(alpha*beta) {
					continue
				}
				rotated = true
				zeta := (beta - alpha) / (2 * gamma)
				t := math.Copysign(1, zeta) / (math.Abs(zeta) + math.Sqrt(1+zeta*zeta))
				c := 1 / math.Sqrt(1+t*t)
				sn := c * t
				for i := range m {
					wp, wq := w[i*n+p], w[i*n+q]
					w[i*n+p], w[i*n+q] = c*wp-sn*wq, sn*wp+c*wq
				}
				for i := range n {
					vp, vq := vm[i*n+p], vm[i*n+q]
					vm[i*n+p], vm[i*n+q] = c*vp-sn*vq, sn*vp+c*vq
				}
			}
		}
		if !rotated {
			break
		}
	}
	// Singular values are the column norms; sort them descending.
	norms := make([]float64, n)
	order := make([]int, n)
	for j := range n {
		var ss float64
		for i := range m {
			ss += w[i*n+j] * w[i*n+j]
		}
		norms[j], order[j] = math.Sqrt(ss), j
	}
	for i := 1; i < n; i++ { // insertion sort: n is small
		for k := i; k > 0 && norms[order[k]] > norms[order[k-1]]; k-- {
			order[k], order[k-1] = order[k-1], order[k]
		}
	}
	u, s, v = make([]float64, m*n), make([]float64, n), make([]float64, n*n)
	for jj, j := range order {
		s[jj] = norms[j]
		for i := range m {
			if norms[j] > 0 {
				u[i*n+jj] = w[i*n+j] / norms[j]
			}
		}
		for i := range n {
			v[i*n+jj] = vm[i*n+j]
		}
	}
	return u, s, v
}

// axpyF64 sets y += a·x.
func axpyF64(y []float64, a float64, x []float64) {
	if a == 0 {
		return
	}
	x = x[:len(y)]
	for i, v := range x {
		y[i] += a * v
	}
}

func transposeF64(a []float64, m, n int) []float64 {
	t := make([]float64, len(a))
	for i := range m {
		for j := range n {
			t[j*m+i] = a[i*n+j]
		}
	}
	return t
}
