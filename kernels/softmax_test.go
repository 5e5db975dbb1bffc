package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// softmaxRef is softmax(scale·x + bias) in float64 with the documented
// rules: a row with no finite entry is all zeros.
func softmaxRef(x []float32, scale float32, bias []float32) []float64 {
	v := make([]float64, len(x))
	mx := math.Inf(-1)
	for i := range x {
		v[i] = float64(scale) * float64(x[i])
		if bias != nil {
			v[i] += float64(bias[i])
		}
		mx = math.Max(mx, v[i])
	}
	out := make([]float64, len(x))
	if math.IsInf(mx, -1) {
		return out
	}
	var sum float64
	for i := range v {
		out[i] = math.Exp(v[i] - mx)
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// checkProbs compares a softmax row with the reference: relative error
// 2e-6 (exp's 2 ULP, the rounding of scale·x + bias and of the sum over up
// to ~1000 terms), and exact zeros where the reference is 0.
func checkProbs(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	for i, w := range want {
		g := float64(got[i])
		if w == 0 && g != 0 || math.Abs(g-w) > 2e-6*w {
			t.Fatalf("%s: element %d = %g, want %g", what, i, g, w)
		}
	}
}

// TestSoftmaxShapes tries every length, unaligned starts, scale and bias,
// -Inf entries, in place and into a separate dst with guard bands.
func TestSoftmaxShapes(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	kerneltest.Run(t, func(t *testing.T) {
		for _, n := range kerneltest.Lengths() {
			for off := 0; off < 3; off++ {
				for _, withBias := range []bool{false, true} {
					x := kerneltest.Rand(r, n, -8, 8)
					if n > 2 && off == 1 {
						x[r.IntN(n)] = float32(math.Inf(-1)) // a masked entry
					}
					var bias []float32
					if withBias {
						bias = kerneltest.Rand(r, n, -4, 4)
					}
					scale := float32(0.125 * float64(1+off))
					if off == 2 {
						scale = -scale // the general path of the assembly
					}
					want := softmaxRef(x, scale, bias)
					what := fmt.Sprintf("n=%d off=%d bias=%v", n, off, withBias)

					guard := kerneltest.Slice(n, off)
					dst := guard.Data()
					kernels.SoftmaxTo(dst, x, scale, bias)
					guard.Check(t, "SoftmaxTo "+what)
					checkProbs(t, "SoftmaxTo "+what, dst, want)

					guard = kerneltest.Slice(n, off)
					row := guard.Data()
					copy(row, x)
					kernels.Softmax(row, scale, bias)
					guard.Check(t, "Softmax "+what)
					for i := range row {
						if row[i] != dst[i] {
							t.Fatalf("%s: in place differs at %d: %v vs %v", what, i, row[i], dst[i])
						}
					}
				}
			}
		}
	})
}

// TestSoftmaxMasks pins the masking rules against what PyTorch gives.
func TestSoftmaxMasks(t *testing.T) {
	inf := float32(math.Inf(1))
	fmin := float32(-math.MaxFloat32)
	nan := float32(math.NaN())
	for _, n := range []int{1, 7, 16, 33, 197} {
		fill := func(v float32) []float32 {
			s := make([]float32, n)
			for i := range s {
				s[i] = v
			}
			return s
		}
		kerneltest.Run(t, func(t *testing.T) {
			// A row masked everywhere with -Inf: zeros (torch.softmax: NaN).
			row := fill(-inf)
			kernels.Softmax(row, 1, nil)
			for i, v := range row {
				if v != 0 {
					t.Fatalf("n=%d all -Inf: [%d] = %v, want 0", n, i, v)
				}
			}
			// Masked everywhere through a float32-min bias: uniform, as torch.
			row = kerneltest.Rand(rand.New(rand.NewPCG(5, 6)), n, -3, 3)
			kernels.Softmax(row, 0.5, fill(fmin))
			for i, v := range row {
				if math.Abs(float64(v)-1/float64(n)) > 1e-6/float64(n) {
					t.Fatalf("n=%d all float32-min: [%d] = %v, want %v", n, i, v, 1/float32(n))
				}
			}
			// -Inf and float32 min mixed: the float32-min entries share it.
			row = fill(-inf)
			row[0], row[n-1] = fmin, fmin
			kernels.Softmax(row, 1, nil)
			want := float32(0.5)
			if n == 1 {
				want = 1
			}
			if row[0] != want || row[n-1] != want {
				t.Fatalf("n=%d -Inf with two float32-min: %v", n, row)
			}
			// NaN poisons the row, even behind -Inf everywhere else.
			row = fill(-inf)
			row[n/2] = nan
			kernels.Softmax(row, 1, nil)
			for i, v := range row {
				if v == v {
					t.Fatalf("n=%d NaN among -Inf: [%d] = %v, want NaN", n, i, v)
				}
			}
			row = fill(1)
			row[n-1] = nan
			kernels.Softmax(row, 1, nil)
			for i, v := range row {
				if v == v {
					t.Fatalf("n=%d NaN among 1s: [%d] = %v, want NaN", n, i, v)
				}
			}
		})
	}
}

// TestSoftmaxGolden compares with torch.softmax on rows with large
// magnitudes and -Inf and float32-min masks.
func TestSoftmaxGolden(t *testing.T) {
	f := golden.Open(t, "elementwise.safetensors")
	for _, c := range f.Cases {
		var n int
		if _, err := fmt.Sscanf(c.Name, "softmax_%d", &n); err != nil {
			continue
		}
		in, shape := f.F32(t, c.Inputs[0])
		want, _ := f.F32(t, c.Outputs[0])
		t.Run(c.Name, func(t *testing.T) {
			kerneltest.Run(t, func(t *testing.T) {
				got := make([]float32, len(in))
				for r := 0; r < shape[0]; r++ {
					kernels.SoftmaxTo(got[r*n:(r+1)*n], in[r*n:(r+1)*n], 1, nil)
				}
				golden.Close(t, c.Name, got, want, 1e-9, 2e-6)
			})
		})
	}
}

// TestOnlineSoftmax streams rows in chunks and merges split states; the
// result must be the row's softmax.
func TestOnlineSoftmax(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	kerneltest.Run(t, func(t *testing.T) {
		for _, n := range []int{1, 5, 16, 50, 197, 577} {
			for _, chunk := range []int{1, 3, 16, 64, 1000} {
				x := kerneltest.Rand(r, n, -20, 20)
				bias := kerneltest.Rand(r, n, -2, 2)
				if n > 4 {
					for i := 0; i < min(chunk, n/2); i++ {
						x[i] = float32(math.Inf(-1)) // a fully masked first chunk
					}
				}
				want := softmaxRef(x, 0.3, bias)

				// Stream: rescale the chunks written so far by each alpha.
				var o kernels.OnlineSoftmax
				got := make([]float32, n)
				for s := 0; s < n; s += chunk {
					e := min(s+chunk, n)
					alpha := o.Update(got[s:e], x[s:e], 0.3, bias[s:e])
					for i := 0; i < s; i++ {
						got[i] *= alpha
					}
				}
				norm := o.Norm()
				for i := range got {
					got[i] *= norm
				}
				checkProbs(t, fmt.Sprintf("online n=%d chunk=%d", n, chunk), got, want)

				// Merge: two halves computed apart.
				h := n / 2
				var a, b kernels.OnlineSoftmax
				ga, gb := make([]float32, h), make([]float32, n-h)
				a.Update(ga, x[:h], 0.3, bias[:h])
				b.Update(gb, x[h:], 0.3, bias[h:])
				fa, fb := a.Merge(b)
				merged := append(ga, gb...)
				for i := range merged {
					f := fa
					if i >= h {
						f = fb
					}
					merged[i] *= f * a.Norm()
				}
				checkProbs(t, fmt.Sprintf("merge n=%d", n), merged, want)
			}
		}
		var o kernels.OnlineSoftmax
		row := []float32{float32(math.Inf(-1)), float32(math.Inf(-1))}
		if alpha := o.Update(row, row, 1, nil); alpha != 1 || o.Norm() != 0 || row[0] != 0 {
			t.Fatalf("fully masked chunk: alpha %v norm %v row %v", alpha, o.Norm(), row)
		}
	})
}

// BenchmarkSoftmax: one attention head's N×N scores (SoftmaxRows).
func BenchmarkSoftmax(b *testing.B) {
	for _, n := range []int{197, 577, 1025, 4097} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchRows(b, n, n, func(dst, src []float32, cols int) {
				kernels.SoftmaxRows(dst, src, cols, 0.125, nil)
			})
		})
	}
}

// TestSoftmaxRows: a matrix at once equals SoftmaxTo row by row, with no
// bias, one bias row for all and a bias per row; bad shapes panic.
func TestSoftmaxRows(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	kerneltest.Run(t, func(t *testing.T) {
		for _, cols := range []int{1, 3, 8, 17, 64, 197} {
			for _, rows := range []int{1, 2, 5} {
				n := rows * cols
				src := kerneltest.Rand(r, n, -10, 10)
				for _, bias := range [][]float32{nil, kerneltest.Rand(r, cols, -3, 3), kerneltest.Rand(r, n, -3, 3)} {
					guard := kerneltest.Slice(n, 1)
					dst := guard.Data()
					kernels.SoftmaxRows(dst, src, cols, 0.5, bias)
					guard.Check(t, "SoftmaxRows")
					for row := 0; row < rows; row++ {
						b := bias
						if len(bias) == n && n != cols {
							b = bias[row*cols : (row+1)*cols]
						}
						want := make([]float32, cols)
						kernels.SoftmaxTo(want, src[row*cols:(row+1)*cols], 0.5, b)
						for i, w := range want {
							if got := dst[row*cols+i]; got != w {
								t.Fatalf("rows=%d cols=%d bias=%d: [%d][%d] = %v, SoftmaxTo gives %v", rows, cols, len(bias), row, i, got, w)
							}
						}
					}
				}
			}
		}
	})
	for _, bad := range []func(){
		func() { kernels.SoftmaxRows(make([]float32, 6), make([]float32, 6), 4, 1, nil) },
		func() { kernels.SoftmaxRows(make([]float32, 6), make([]float32, 6), 0, 1, nil) },
		func() { kernels.SoftmaxRows(make([]float32, 6), make([]float32, 6), 3, 1, make([]float32, 4)) },
		func() { kernels.SoftmaxRows(make([]float32, 5), make([]float32, 6), 3, 1, nil) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("SoftmaxRows accepted a bad shape")
				}
			}()
			bad()
		}()
	}
}

// One query attends to 6 keys that arrive in blocks of 4: the scores of a
// block are exponentiated against the running maximum, earlier output is
// rescaled by alpha, and Norm turns the sum into the softmax-weighted mean.
func ExampleOnlineSoftmax() {
	scores := []float32{1, 2, 3, 4, 5, 6}       // q·k for each key
	values := []float32{10, 20, 30, 40, 50, 60} // one value per key (a 1-wide head)
	var o kernels.OnlineSoftmax
	var out float32 // Σ p·v so far, relative to the running maximum
	p := make([]float32, 4)
	for lo := 0; lo < len(scores); lo += 4 {
		hi := min(lo+4, len(scores))
		alpha := o.Update(p[:hi-lo], scores[lo:hi], 1, nil)
		out *= alpha
		for i, pi := range p[:hi-lo] {
			out += pi * values[lo+i]
		}
	}
	fmt.Printf("%.4f\n", out*o.Norm())
	// Output: 54.3293
}
