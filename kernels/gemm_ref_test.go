package kernels_test

import (
	"math"
	"math/rand/v2"
	"testing"
)

// guard is the value written around every output: any change to it means
// a kernel wrote outside the matrix it was handed.
const guard = float32(-12345.678)

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

// guardedMatrix is an output matrix inside a buffer with guard values before,
// after, and in the padding of every row.
type guardedMatrix struct {
	buf            []float32
	off            int
	rows, cols, ld int
}

func newGuarded(rows, cols, ld int, fill func(i, j int) float32) *guardedMatrix {
	n := 0
	if rows > 0 && cols > 0 {
		n = (rows-1)*ld + cols
	}
	g := &guardedMatrix{buf: make([]float32, n+2*guardLen), off: guardLen, rows: rows, cols: cols, ld: ld}
	for i := range g.buf {
		g.buf[i] = guard
	}
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			g.buf[g.off+i*ld+j] = fill(i, j)
		}
	}
	return g
}

func (g *guardedMatrix) mat() []float32      { return g.buf[g.off : len(g.buf)-guardLen] }
func (g *guardedMatrix) at(i, j int) float32 { return g.buf[g.off+i*g.ld+j] }

// checkGuards fails t if anything outside the matrix changed.
func (g *guardedMatrix) checkGuards(t *testing.T) {
	t.Helper()
	for p, v := range g.buf {
		q := p - g.off
		inside := q >= 0 && q < len(g.buf)-2*guardLen && q%g.ld < g.cols
		if !inside && math.Float32bits(v) != math.Float32bits(guard) {
			t.Fatalf("guard at buffer offset %d (matrix offset %d) changed to %v", p, q, v)
		}
	}
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
func checkClose(t *testing.T, what string, g *guardedMatrix, want, scale []float64, k int) {
	t.Helper()
	tol := float64(2*(k+4)) * unitRoundoff
	bad := 0
	for i := 0; i < g.rows; i++ {
		for j := 0; j < g.cols; j++ {
			got := float64(g.at(i, j))
			w := want[i*g.cols+j]
			var ok bool
			switch {
			case math.IsNaN(w):
				ok = math.IsNaN(got)
			case math.IsInf(w, 0):
				ok = got == w
			default:
				ok = math.Abs(got-w) <= tol*scale[i*g.cols+j]+1e-35
			}
			if !ok {
				if bad < 5 {
					t.Errorf("%s: C[%d,%d] = %v, want %v (±%.3g)", what, i, j, got, w, tol*scale[i*g.cols+j])
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d elements wrong", what, bad, g.rows*g.cols)
	}
	g.checkGuards(t)
}
