package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

const guardBand = 17 // values of guardBand band on each side of an output

// guardedRows returns a slice of n random values at an unaligned offset inside a
// buffer whose guardBand bands hold a sentinel, and a check that they still do.
func guardedRows(rng *rand.Rand, n, offset int) ([]float32, func(t *testing.T, what string)) {
	buf := make([]float32, n+2*guardBand+offset)
	for i := range buf {
		buf[i] = -7777
	}
	s := buf[guardBand+offset : guardBand+offset+n]
	for i := range s {
		s[i] = float32(rng.Float64()*4 - 2)
	}
	return s, func(t *testing.T, what string) {
		t.Helper()
		for i, v := range buf {
			if (i < guardBand+offset || i >= guardBand+offset+n) && v != -7777 {
				t.Fatalf("%s: guardBand value %d changed to %g", what, i, v)
			}
		}
	}
}

func closeTo(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*(1+math.Abs(want[i])) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: element %d = %g, want %g", what, i, got[i], want[i])
		}
	}
}

func randF32(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.Float64()*2 - 1)
	}
	return s
}

func TestRopeRotate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	kerneltest.Run(t, func(t *testing.T) {
		for _, shape := range [][3]int{{0, 3, 8}, {1, 1, 2}, {3, 2, 4}, {5, 3, 6}, {2, 2, 10}, {7, 3, 16}, {4, 12, 20},
			{3, 1, 30}, {2, 5, 34}, {9, 12, 64}, {2, 2, 130}, {1, 1, 128}} {
			tokens, heads, hd := shape[0], shape[1], shape[2]
			for _, off := range []int{0, 1, 3} {
				x, check := guardedRows(rng, tokens*heads*hd, off)
				sin, cos := randF32(rng, tokens*hd), randF32(rng, tokens*hd)
				want := make([]float64, len(x))
				for i := 0; i < len(x); i += 2 {
					tk, d := i/(heads*hd), i%hd
					s0, s1 := float64(sin[tk*hd+d]), float64(sin[tk*hd+d+1])
					c0, c1 := float64(cos[tk*hd+d]), float64(cos[tk*hd+d+1])
					x0, x1 := float64(x[i]), float64(x[i+1])
					want[i], want[i+1] = x0*c0-x1*s0, x1*c1+x0*s1
				}
				kernels.RopeRotate(x, sin, cos, tokens, heads, hd)
				what := fmt.Sprintf("%d×%d×%d offset %d", tokens, heads, hd, off)
				closeTo(t, what, x, want, 1e-6)
				check(t, what)
			}
		}
	})
}

func TestRopeRotatePanics(t *testing.T) {
	for _, f := range []func(){
		func() { kernels.RopeRotate(make([]float32, 12), make([]float32, 6), make([]float32, 6), 2, 2, 3) },
		func() { kernels.RopeRotate(make([]float32, 15), make([]float32, 8), make([]float32, 8), 2, 2, 4) },
		func() { kernels.RopeRotate(make([]float32, 16), make([]float32, 7), make([]float32, 8), 2, 2, 4) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic on a broken shape")
				}
			}()
			f()
		}()
	}
}

func TestRelBiasAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	kerneltest.Run(t, func(t *testing.T) {
		for n := 0; n <= 40; n++ {
			rows := 1 + rng.IntN(60)
			idx := make([]int32, n*n)
			for i := range idx {
				idx[i] = int32(rng.IntN(rows))
			}
			if n > 2 { // the table's first and last entries are reached
				idx[0], idx[len(idx)-1] = 0, int32(rows-1)
			}
			ix := kernels.NewRelIndex(idx, n, rows)
			table, checkTable := guardedRows(rng, rows, n%5)
			scores, check := guardedRows(rng, n*n, n%3)
			want := make([]float64, len(scores))
			for i := range want {
				want[i] = float64(scores[i] + table[idx[i]])
			}
			kernels.RelBiasAdd(scores, table, ix)
			what := fmt.Sprintf("n %d rows %d", n, rows)
			closeTo(t, what, scores, want, 0)
			check(t, what)
			checkTable(t, what+" table")
		}
	})
}

func TestRelIndexPanics(t *testing.T) {
	for _, f := range []func(){
		func() { kernels.NewRelIndex([]int32{0, 1, 2, 3}, 2, 3) },
		func() { kernels.NewRelIndex([]int32{0, -1, 2, 0}, 2, 3) },
		func() { kernels.NewRelIndex([]int32{0, 1, 2}, 2, 3) },
		func() {
			kernels.RelBiasAdd(make([]float32, 4), make([]float32, 2), kernels.NewRelIndex([]int32{0, 1, 2, 0}, 2, 3))
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic on a broken contract")
				}
			}()
			f()
		}()
	}
}

func TestDWConv3x3(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	kerneltest.Run(t, func(t *testing.T) {
		for _, s := range [][3]int{{1, 1, 1}, {1, 1, 8}, {2, 3, 7}, {3, 2, 16}, {4, 5, 17}, {5, 4, 24}, {3, 3, 33},
			{2, 7, 60}, {6, 2, 130}, {1, 9, 64}, {9, 1, 5}} {
			h, w, c := s[0], s[1], s[2]
			for _, residual := range []bool{false, true} {
				padded := make([]float32, (h+2)*(w+2)*c)
				for y := 1; y <= h; y++ {
					for x := 1; x <= w; x++ {
						copy(padded[(y*(w+2)+x)*c:(y*(w+2)+x+1)*c], randF32(rng, c))
					}
				}
				weight, bias := randF32(rng, 9*c), randF32(rng, c)
				dst, check := guardedRows(rng, h*w*c, c%3)
				want := make([]float64, len(dst))
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						for k := 0; k < c; k++ {
							acc := float64(bias[k])
							for i := 0; i < 3; i++ {
								for j := 0; j < 3; j++ {
									acc += float64(weight[(3*i+j)*c+k]) * float64(padded[((y+i)*(w+2)+x+j)*c+k])
								}
							}
							if residual {
								acc += float64(padded[((y+1)*(w+2)+x+1)*c+k])
							}
							want[(y*w+x)*c+k] = acc
						}
					}
				}
				kernels.DWConv3x3(dst, padded, weight, bias, h, w, c, residual)
				what := fmt.Sprintf("%d×%d×%d residual %v", h, w, c, residual)
				closeTo(t, what, dst, want, 2e-6)
				check(t, what)
			}
		}
	})
}
