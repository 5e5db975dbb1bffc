package posenc

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSVD reconstructs random matrices of many shapes from their SVD and
// checks orthonormal factors and descending singular values.
func TestSVD(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, sh := range [][2]int{{1, 1}, {1, 5}, {5, 1}, {3, 3}, {7, 4}, {4, 7}, {32, 16}, {10, 10}} {
		m, n := sh[0], sh[1]
		a := make([]float64, m*n)
		for i := range a {
			a[i] = rng.NormFloat64()
		}
		if m == 10 { // rank deficient: two equal columns
			for i := range m {
				a[i*n+3] = a[i*n+5]
			}
		}
		u, s, v := jacobiSVD(a, m, n)
		r := len(s)
		if r != min(m, n) {
			t.Fatalf("%d×%d: %d singular values", m, n, r)
		}
		for i := range m {
			for j := range n {
				var x float64
				for k := range r {
					x += u[i*r+k] * s[k] * v[j*r+k]
				}
				if math.Abs(x-a[i*n+j]) > 1e-12 {
					t.Fatalf("%d×%d: U·S·Vᵀ[%d,%d] = %g, want %g", m, n, i, j, x, a[i*n+j])
				}
			}
		}
		for k := 1; k < r; k++ {
			if s[k] > s[k-1] {
				t.Fatalf("%d×%d: singular values not descending: %v", m, n, s)
			}
		}
		for _, f := range []struct {
			q    []float64
			rows int
		}{{v, n}, {u, m}} {
			for k := range r {
				for l := range r {
					if f.rows == m && (s[k] < 1e-12 || s[l] < 1e-12) {
						continue // U's columns for zero singular values are zero
					}
					var d float64
					for i := range f.rows {
						d += f.q[i*r+k] * f.q[i*r+l]
					}
					if want := kronecker(k == l); math.Abs(d-want) > 1e-12 {
						t.Fatalf("%d×%d: factor columns %d·%d = %g", m, n, k, l, d)
					}
				}
			}
		}
	}
}

func kronecker(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// TestResizePatchEmbedMatchesDensePinv builds timm's dense resize matrix
// (each one-hot basis patch resized), takes its pseudo-inverse directly,
// and checks that the per-axis (Kronecker) route gives the same kernel,
// including rank-deficient mixed up/down resizes.
func TestResizePatchEmbedMatchesDensePinv(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, tc := range []struct {
		old, new [2]int
		opt      ResampleOptions
	}{
		{[2]int{5, 7}, [2]int{9, 4}, DefaultResampleOptions()},
		{[2]int{6, 6}, [2]int{3, 3}, ResampleOptions{Method: Bilinear}},
		{[2]int{4, 4}, [2]int{4, 9}, ResampleOptions{Method: Bicubic}},
		{[2]int{5, 5}, [2]int{7, 3}, ResampleOptions{Method: Nearest}},
		{[2]int{6, 4}, [2]int{3, 8}, ResampleOptions{Method: Fourier}},
	} {
		oldN, newN := tc.old[0]*tc.old[1], tc.new[0]*tc.new[1]
		// mt = Mᵀ (oldN × newN): row i is basis patch i resized.
		mt := make([]float64, oldN*newN)
		for i := range oldN {
			e := make([]float32, oldN)
			e[i] = 1
			r, err := ResampleGrid(e, Grid{tc.old[0], tc.old[1]}, Grid{tc.new[0], tc.new[1]}, 1, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			for j, v := range r {
				mt[i*newN+j] = float64(v)
			}
		}
		u, s, v := jacobiSVD(mt, oldN, newN)
		r := len(s)
		k := make([]float32, oldN)
		for i := range k {
			k[i] = float32(rng.NormFloat64())
		}
		// w_new = V·S⁺·Uᵀ·k
		coef := make([]float64, r)
		for j := range r {
			if s[j] <= float64(max(oldN, newN))*0x1p-23*s[0] {
				continue
			}
			for i := range oldN {
				coef[j] += u[i*r+j] * float64(k[i])
			}
			coef[j] /= s[j]
		}
		want := make([]float32, newN)
		for q := range newN {
			var x float64
			for j := range r {
				x += v[q*r+j] * coef[j]
			}
			want[q] = float32(x)
		}
		got, err := ResizePatchEmbed(k, 1, 1, tc.old, tc.new, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		for q := range want {
			if d := math.Abs(float64(got[q] - want[q])); d > 1e-5*(1+math.Abs(float64(want[q]))) {
				t.Fatalf("%v→%v %v: value %d = %g, dense pinv gives %g", tc.old, tc.new, tc.opt, q, got[q], want[q])
			}
		}
	}
}
