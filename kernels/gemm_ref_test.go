package kernels_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels/kerneltest"
)

// unitRoundoff is float32's unit roundoff, 2⁻²⁴.
const unitRoundoff = 1.0 / (1 << 24)

// randMatrix returns a rows×cols matrix with leading dimension ld, values in
// [-1, 1), and NaN in the padding between rows: a kernel that reads padding
// poisons its output.
func randMatrix(rng *rand.Rand, rows, cols, ld int) []float32 {
	if rows == 0 || cols == 0 {
		return nil
	}
	s := make([]float32, (rows-1)*ld+cols)
	for i := range s {
		if i%ld < cols {
			s[i] = rng.Float32()*2 - 1
		} else {
			s[i] = float32(math.NaN())
		}
	}
	return s
}

// refGemm returns alpha·op(A)·op(B) + beta·C in float64 and, per element,
// the sum of the magnitudes of its terms (the scale of its rounding error).
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c func(i, j int) float32) (want, scale []float64) {
	want = make([]float64, m*n)
	scale = make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var sum, abs float64
			for p := 0; p < k; p++ {
				var av, bv float64
				if transA {
					av = float64(a[p*lda+i])
				} else {
					av = float64(a[i*lda+p])
				}
				if transB {
					bv = float64(b[j*ldb+p])
				} else {
					bv = float64(b[p*ldb+j])
				}
				sum += av * bv
				abs += math.Abs(av * bv)
			}
			w := float64(alpha) * sum
			s := math.Abs(float64(alpha)) * abs
			if beta != 0 {
				cv := float64(beta) * float64(c(i, j))
				w += cv
				s += math.Abs(cv)
			}
			want[i*n+j] = w
			scale[i*n+j] = s
		}
	}
	return want, scale
}

// checkClose compares got (m×n in g) with want within the float32 error
// bound of a k-term sum plus a few extra roundings; NaN and ±Inf must match
// exactly.
func checkClose(t *testing.T, what string, g *kerneltest.Guarded, rows, cols int, want, scale []float64, k int) {
	t.Helper()
	tol := float64(2*(k+4)) * unitRoundoff
	bad := 0
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			got := float64(g.At(i, j))
			w := want[i*cols+j]
			var ok bool
			switch {
			case math.IsNaN(w):
				ok = math.IsNaN(got)
			case math.IsInf(w, 0):
				ok = got == w
			default:
				ok = math.Abs(got-w) <= tol*scale[i*cols+j]+1e-35
			}
			if !ok {
				if bad < 5 {
					t.Errorf("%s: C[%d,%d] = %v, want %v (±%.3g)", what, i, j, got, w, tol*scale[i*cols+j])
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d elements wrong", what, bad, rows*cols)
	}
	g.Check(t, what)
}
