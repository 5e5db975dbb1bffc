package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// smoothCase is a norm of width d with outlier, negative and zero gains,
// and two readers: a Linear and a convolution of k positions per channel.
func smoothCase(d, k int, bias bool) (*LayerNorm, []*RawLinear) {
	r := rand.New(rand.NewPCG(3, 3))
	norm := &LayerNorm{W: make([]float32, d), B: make([]float32, d), Name: "n"}
	for j := range d {
		norm.W[j] = float32(math.Exp(0.7 * r.NormFloat64()))
		norm.B[j] = float32(0.3 * r.NormFloat64())
	}
	norm.W[1], norm.B[1] = 100*norm.W[1], 100*norm.B[1]
	norm.W[2] = -norm.W[2]
	norm.W[3] = 0
	lin := &RawLinear{Names: []string{"lin"}, Out: 5, In: d, W: make([]float32, 5*d)}
	conv := &RawLinear{Names: []string{"conv"}, Out: 3, In: d * k, W: make([]float32, 3*d*k)}
	for _, l := range []*RawLinear{lin, conv} {
		for i := range l.W {
			l.W[i] = float32(r.NormFloat64())
		}
		if bias {
			l.B = make([]float32, l.Out)
			for i := range l.B {
				l.B[i] = float32(r.NormFloat64())
			}
		}
	}
	return norm, []*RawLinear{lin, conv}
}

// apply is a reader's output for the norm's outputs of k normalised rows
// (the convolution's positions; a Linear reads the first), in float64.
func apply(l *RawLinear, norm *LayerNorm, n [][]float64) []float64 {
	y := make([][]float64, len(n))
	for p := range n {
		y[p] = make([]float64, len(n[p]))
		for j := range n[p] {
			y[p][j] = n[p][j]*float64(norm.W[j]) + float64(norm.B[j])
		}
	}
	return applyRows(l, y)
}

// applyRows is a reader's output for k input rows y.
func applyRows(l *RawLinear, y [][]float64) []float64 {
	d := len(y[0])
	k := l.In / d
	out := make([]float64, l.Out)
	for o := range out {
		if l.B != nil {
			out[o] = float64(l.B[o])
		}
		for i := 0; i < l.In; i++ {
			out[o] += float64(l.W[o*l.In+i]) * y[i%k][i/k]
		}
	}
	return out
}

// TestSmoothNormExact: the rewrite keeps every reader's float32 function
// (a Linear's and a convolution's) for α = 0.5 and 1, with and without
// biases and calibrated ranges; the norm's Zero row gives the readers'
// old zero-input output; readers are marked Smoothed.
func TestSmoothNormExact(t *testing.T) {
	const d, k = 16, 4
	r := rand.New(rand.NewPCG(5, 5))
	n := make([][]float64, k)
	for p := range n {
		n[p] = make([]float64, d)
		for j := range n[p] {
			n[p][j] = r.NormFloat64()
		}
	}
	for _, alpha := range []float64{0.5, 1} {
		for _, bias := range []bool{false, true} {
			for _, ranged := range []bool{false, true} {
				restore := SetSmoothAlpha(alpha)
				norm, layers := smoothCase(d, k, bias)
				if ranged {
					norm.Range = make([]float32, d)
					for j := range norm.Range {
						norm.Range[j] = float32(1 + 5*r.Float64())
					}
					norm.Range[4] = 0 // never seen: treated as 1
				}
				var want, zero [][]float64
				for _, l := range layers {
					want = append(want, apply(l, norm, n))
					zero = append(zero, apply(l, &LayerNorm{W: make([]float32, d), B: make([]float32, d)}, n)) // b
				}
				s := smoothNorm(norm, layers, nil)
				restore()
				if s == nil {
					t.Fatalf("α %g: no rewrite", alpha)
				}
				if slices.ContainsFunc(norm.B, func(v float32) bool { return v != 0 }) {
					t.Errorf("α %g: the norm keeps a bias %v", alpha, norm.B)
				}
				for i, l := range layers {
					if !l.Smoothed {
						t.Errorf("%s not marked Smoothed", l.Names[0])
					}
					got := apply(l, norm, n)
					for o := range got {
						if math.Abs(got[o]-want[i][o]) > 1e-4*(1+math.Abs(want[i][o])) {
							t.Errorf("α %g bias %v range %v: %s output %d: %g, want %g", alpha, bias, ranged, l.Names[0], o, got[o], want[i][o])
						}
					}
					// Zero, fed where the old layer read zeros.
					z := make([][]float64, k)
					for p := range z {
						z[p] = make([]float64, d)
						for j := range d {
							z[p][j] = float64(norm.Zero[j])
						}
					}
					gotZ := applyRows(l, z)
					for o := range gotZ {
						if math.Abs(gotZ[o]-zero[i][o]) > 1e-4*(1+math.Abs(zero[i][o])) {
							t.Errorf("α %g: %s on the Zero row: %g, want %g", alpha, l.Names[0], gotZ[o], zero[i][o])
						}
					}
				}
			}
		}
	}
}

// TestSmoothNormIdentity: a norm without bias whose factors come out 1 (a
// smoothed checkpoint's, α = 1) is left alone, as are its readers; a norm
// marked Smoothed only has its bias folded, its readers' weights kept.
func TestSmoothNormIdentity(t *testing.T) {
	norm, layers := smoothCase(8, 1, true)
	restore := SetSmoothAlpha(1)
	defer restore()
	for j := range norm.W {
		norm.W[j], norm.B[j] = 1, 0
	}
	w := slices.Clone(layers[0].W)
	if s := smoothNorm(norm, layers, nil); s != nil {
		t.Errorf("unit gains, no bias: rewrote with factors %v", s)
	}
	norm, layers = smoothCase(8, 1, true)
	norm.Smoothed = make([]float32, 8)
	w = slices.Clone(layers[0].W)
	if s := smoothNorm(norm, layers, nil); s == nil {
		t.Fatal("a smoothed norm's bias was not folded")
	}
	if !slices.Equal(w, layers[0].W) || layers[0].Smoothed {
		t.Error("a smoothed norm's reader was rewritten again")
	}
}
