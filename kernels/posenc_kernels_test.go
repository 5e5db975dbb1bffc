package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

func TestRopeRotate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	kerneltest.Run(t, func(t *testing.T) {
		for _, shape := range [][3]int{{0, 3, 8}, {1, 1, 2}, {3, 2, 4}, {5, 3, 6}, {2, 2, 10}, {7, 3, 16}, {4, 12, 20},
			{3, 1, 30}, {2, 5, 34}, {9, 12, 64}, {2, 2, 130}, {1, 1, 128}} {
			tokens, heads, hd := shape[0], shape[1], shape[2]
			width := heads * hd
			for _, ld := range []int{width, width + 1, 3 * width} { // contiguous, odd stride, q inside qkv
				off := ld % 4
				n := max(0, (tokens-1)*ld+width)
				xGuard := kerneltest.Slice(n, off)
				x := kerneltest.RandFill(rng, xGuard.Data(), -2, 2)
				sin, cos := kerneltest.Rand(rng, tokens*hd, -1, 1), kerneltest.Rand(rng, tokens*hd, -1, 1)
				want := make([]float64, len(x))
				for i := range x {
					want[i] = float64(x[i]) // values between rows stay as they are
				}
				for tk := 0; tk < tokens; tk++ {
					for c := 0; c < width; c += 2 {
						i, d := tk*ld+c, c%hd
						s0, s1 := float64(sin[tk*hd+d]), float64(sin[tk*hd+d+1])
						c0, c1 := float64(cos[tk*hd+d]), float64(cos[tk*hd+d+1])
						x0, x1 := float64(x[i]), float64(x[i+1])
						want[i], want[i+1] = x0*c0-x1*s0, x1*c1+x0*s1
					}
				}
				kernels.RopeRotate(x, ld, sin, cos, tokens, heads, hd)
				what := fmt.Sprintf("%d×%d×%d stride %d", tokens, heads, hd, ld)
				kerneltest.Close(t, what, x, want, 1e-6)
				xGuard.Check(t, what)
			}
		}
	})
}

func TestRopeRotatePanics(t *testing.T) {
	for _, f := range []func(){
		func() { kernels.RopeRotate(make([]float32, 12), 6, make([]float32, 6), make([]float32, 6), 2, 2, 3) },
		func() { kernels.RopeRotate(make([]float32, 15), 8, make([]float32, 8), make([]float32, 8), 2, 2, 4) },
		func() { kernels.RopeRotate(make([]float32, 16), 8, make([]float32, 7), make([]float32, 8), 2, 2, 4) },
		func() { kernels.RopeRotate(make([]float32, 16), 7, make([]float32, 8), make([]float32, 8), 2, 2, 4) },
		func() { kernels.RopeRotate(make([]float32, 19), 12, make([]float32, 8), make([]float32, 8), 2, 2, 4) },
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
			lo, hi := 0, n
			if n%4 == 3 { // a tile of queries
				lo, hi = n/3, n-1
			}
			tableGuard := kerneltest.Slice(rows, n%5)
			table := kerneltest.RandFill(rng, tableGuard.Data(), -2, 2)
			scoresGuard := kerneltest.Slice((hi-lo)*n, n%3)
			scores := kerneltest.RandFill(rng, scoresGuard.Data(), -2, 2)
			want := make([]float64, len(scores))
			for i := range want {
				want[i] = float64(scores[i] + table[idx[lo*n+i]])
			}
			kernels.RelBiasAdd(scores, table, ix, lo, hi)
			what := fmt.Sprintf("n %d rows %d queries [%d, %d)", n, rows, lo, hi)
			kerneltest.Close(t, what, scores, want, 0)
			scoresGuard.Check(t, what)
			tableGuard.Check(t, what+" table")
		}
	})
}

func TestRelIndexPanics(t *testing.T) {
	for _, f := range []func(){
		func() { kernels.NewRelIndex([]int32{0, 1, 2, 3}, 2, 3) },
		func() { kernels.NewRelIndex([]int32{0, -1, 2, 0}, 2, 3) },
		func() { kernels.NewRelIndex([]int32{0, 1, 2}, 2, 3) },
		func() {
			kernels.RelBiasAdd(make([]float32, 4), make([]float32, 2), kernels.NewRelIndex([]int32{0, 1, 2, 0}, 2, 3), 0, 2)
		},
		func() {
			kernels.RelBiasAdd(make([]float32, 2), make([]float32, 3), kernels.NewRelIndex([]int32{0, 1, 2, 0}, 2, 3), 1, 3)
		},
		func() {
			kernels.RelBiasAddWindow(make([]float32, 4), 2, make([]float32, 9), kernels.NewRelWindow(1, 2), 0, 3)
		},
		func() {
			kernels.RelBiasAddWindow(make([]float32, 3), 2, make([]float32, 9), kernels.NewRelWindow(1, 2), 0, 2)
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
						copy(padded[(y*(w+2)+x)*c:(y*(w+2)+x+1)*c], kerneltest.Rand(rng, c, -1, 1))
					}
				}
				weight, bias := kerneltest.Rand(rng, 9*c, -1, 1), kerneltest.Rand(rng, c, -1, 1)
				dstGuard := kerneltest.Slice(h*w*c, c%3)
				dst := kerneltest.RandFill(rng, dstGuard.Data(), -2, 2)
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
				kerneltest.Close(t, what, dst, want, 2e-6)
				dstGuard.Check(t, what)
			}
		}
	})
}

// TestRelBiasAddWindow compares the window kernel with Swin's index built
// by hand, for windows with widths on both sides of the vector lengths, in
// a block with prefix rows and columns around it that must stay untouched.
func TestRelBiasAddWindow(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	kerneltest.Run(t, func(t *testing.T) {
		for _, s := range [][2]int{{1, 1}, {1, 2}, {2, 1}, {3, 3}, {7, 7}, {6, 9}, {1, 17}, {4, 16}, {2, 33}, {12, 12}, {5, 8}} {
			h, w := s[0], s[1]
			win := kernels.NewRelWindow(h, w)
			n, rows := h*w, (2*h-1)*(2*w-1)
			if win.N() != n || win.Rows() != rows {
				t.Fatalf("%d×%d: N %d Rows %d", h, w, win.N(), win.Rows())
			}
			for _, prefix := range []int{0, 1, 3} {
				ld := n + prefix
				table := kerneltest.Rand(rng, rows, -1, 1)
				rev := make([]float32, rows)
				for k := range rev {
					rev[k] = table[rows-1-k]
				}
				allGuard := kerneltest.Slice(ld*ld, prefix)
				all := kerneltest.RandFill(rng, allGuard.Data(), -2, 2)
				before := append([]float32(nil), all...)
				want := make([]float64, len(all))
				for i := range want {
					want[i] = float64(all[i])
				}
				for i := 0; i < n; i++ {
					for j := 0; j < n; j++ {
						idx := (i/w-j/w+h-1)*(2*w-1) + i%w - j%w + w - 1
						k := (i+prefix)*ld + j + prefix
						want[k] = float64(before[k] + table[idx])
					}
				}
				kernels.RelBiasAddWindow(all[prefix*ld+prefix:], ld, rev, win, 0, n)
				what := fmt.Sprintf("%d×%d prefix %d", h, w, prefix)
				kerneltest.Close(t, what, all, want, 0)
				allGuard.Check(t, what)
				// A tile of queries [lo, hi) on its own rows.
				lo, hi := n/3, n-n/4
				tileGuard := kerneltest.Slice((hi-lo)*ld, prefix)
				tile := kerneltest.RandFill(rng, tileGuard.Data(), -2, 2)
				tileWant := make([]float64, len(tile))
				for r := range tile {
					tileWant[r] = float64(tile[r])
					if i, j := lo+r/ld, r%ld; j < n {
						idx := (i/w-j/w+h-1)*(2*w-1) + i%w - j%w + w - 1
						tileWant[r] = float64(tile[r] + table[idx])
					}
				}
				kernels.RelBiasAddWindow(tile, ld, rev, win, lo, hi)
				kerneltest.Close(t, what+" tile", tile, tileWant, 0)
				tileGuard.Check(t, what+" tile")
			}
		}
	})
}

func TestRopeRotateHalf(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	kerneltest.Run(t, func(t *testing.T) {
		for _, shape := range [][3]int{{0, 3, 8}, {1, 1, 2}, {3, 2, 4}, {5, 3, 6}, {2, 2, 10}, {7, 3, 16}, {4, 12, 20}, {3, 1, 30},
			{2, 5, 34}, {3, 2, 48}, {9, 12, 64}, {2, 2, 130}, {1, 1, 128}} {
			tokens, heads, hd := shape[0], shape[1], shape[2]
			width, half := heads*hd, hd/2
			for _, ld := range []int{width, width + 1, 3 * width} {
				off := ld % 4
				n := max(0, (tokens-1)*ld+width)
				xGuard := kerneltest.Slice(n, off)
				x := kerneltest.RandFill(rng, xGuard.Data(), -2, 2)
				sin, cos := kerneltest.Rand(rng, tokens*half, -1, 1), kerneltest.Rand(rng, tokens*half, -1, 1)
				want := make([]float64, len(x))
				for i := range x {
					want[i] = float64(x[i])
				}
				for tk := 0; tk < tokens; tk++ {
					for h := 0; h < heads; h++ {
						for j := 0; j < half; j++ {
							a, b := tk*ld+h*hd+j, tk*ld+h*hd+half+j
							s, c := float64(sin[tk*half+j]), float64(cos[tk*half+j])
							want[a], want[b] = float64(x[a])*c-float64(x[b])*s, float64(x[b])*c+float64(x[a])*s
						}
					}
				}
				kernels.RopeRotateHalf(x, ld, sin, cos, tokens, heads, hd)
				what := fmt.Sprintf("%d×%d×%d stride %d", tokens, heads, hd, ld)
				kerneltest.Close(t, what, x, want, 1e-6)
				xGuard.Check(t, what)
			}
		}
	})
	for _, f := range []func(){
		func() {
			kernels.RopeRotateHalf(make([]float32, 12), 6, make([]float32, 3), make([]float32, 3), 2, 2, 3)
		},
		func() {
			kernels.RopeRotateHalf(make([]float32, 15), 8, make([]float32, 4), make([]float32, 4), 2, 2, 4)
		},
		func() {
			kernels.RopeRotateHalf(make([]float32, 16), 8, make([]float32, 3), make([]float32, 4), 2, 2, 4)
		},
		func() {
			kernels.RopeRotateHalf(make([]float32, 16), 7, make([]float32, 4), make([]float32, 4), 2, 2, 4)
		},
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
