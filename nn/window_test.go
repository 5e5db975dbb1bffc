package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/internal/allocs"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/posenc"
)

// TestWindows: gathering every window and scattering it back is the
// identity on the grid (each token in exactly one window, at timm's
// window_partition place), and padding rows get the pad row.
func TestWindows(t *testing.T) {
	for _, c := range []struct{ g, size posenc.Grid }{
		{posenc.Grid{H: 6, W: 6}, posenc.Grid{H: 4, W: 4}},
		{posenc.Grid{H: 9, W: 5}, posenc.Grid{H: 4, W: 4}},
		{posenc.Grid{H: 8, W: 8}, posenc.Grid{H: 4, W: 4}},
		{posenc.Grid{H: 3, W: 7}, posenc.Grid{H: 14, W: 14}},
	} {
		w, err := NewWindows(c.g, c.size)
		if err != nil {
			t.Fatal(err)
		}
		const cols, ld = 3, 5
		n, area := c.g.N(), c.size.N()
		src := make([]float32, n*ld)
		for i := range src {
			src[i] = float32(i)
		}
		pad := []float32{-1, -2, -3}
		back := make([]float32, n*ld)
		win := make([]float32, area*cols)
		seen := make([]int, n)
		for wi := 0; wi < w.Count(); wi++ {
			w.Gather(win, cols, src, ld, cols, wi, pad)
			for r := 0; r < area; r++ {
				// timm: window (wy, wx) row r is padded-grid pixel
				// (wy·S + r/S, wx·S + r%S).
				y := (wi/w.NX)*c.size.H + r/c.size.W
				x := (wi%w.NX)*c.size.W + r%c.size.W
				want := pad
				if y < c.g.H && x < c.g.W {
					want = src[(y*c.g.W+x)*ld : (y*c.g.W+x)*ld+cols]
					seen[y*c.g.W+x]++
				}
				for k := 0; k < cols; k++ {
					if win[r*cols+k] != want[k] {
						t.Fatalf("%v in %v windows: window %d row %d = %v, want %v", c.g, c.size, wi, r, win[r*cols:(r+1)*cols], want)
					}
				}
			}
			w.Scatter(back, ld, win, cols, cols, wi)
		}
		for i := 0; i < n; i++ {
			if seen[i] != 1 {
				t.Fatalf("%v: token %d in %d windows", c.g, i, seen[i])
			}
			for k := 0; k < cols; k++ {
				if back[i*ld+k] != src[i*ld+k] {
					t.Fatalf("%v: token %d came back as %v", c.g, i, back[i*ld:i*ld+cols])
				}
			}
		}
		if got := w.Count(); got != ((c.g.H+c.size.H-1)/c.size.H)*((c.g.W+c.size.W-1)/c.size.W) {
			t.Errorf("%v: %d windows", c.g, got)
		}
	}
	if _, err := NewWindows(posenc.Grid{H: 4, W: 4}, posenc.Grid{}); err == nil {
		t.Error("an empty window accepted")
	}
}

// TestIm2ColHWC: im2col + a matrix product is the zero-padded convolution
// written directly, for same and valid padding.
func TestIm2ColHWC(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		g          posenc.Grid
		ch, k, pad int
	}{
		{posenc.Grid{H: 5, W: 4}, 3, 3, 1},
		{posenc.Grid{H: 1, W: 1}, 2, 3, 1},
		{posenc.Grid{H: 6, W: 7}, 2, 3, 0},
		{posenc.Grid{H: 3, W: 5}, 1, 5, 3},
	} {
		src := make([]float32, c.g.N()*c.ch)
		for i := range src {
			src[i] = float32(r.NormFloat64())
		}
		const out = 2
		kern := make([]float32, out*c.ch*c.k*c.k) // PyTorch [out, in, k, k]
		for i := range kern {
			kern[i] = float32(r.NormFloat64())
		}
		kh := KernelHWC(kern, out, c.ch, c.k, c.k)
		oh, ow := c.g.H+2*c.pad-c.k+1, c.g.W+2*c.pad-c.k+1
		kc := c.k * c.k * c.ch
		for lo := 0; lo < oh*ow; lo += 3 {
			hi := min(oh*ow, lo+3)
			col := make([]float32, (hi-lo)*kc)
			Im2ColHWC(col, src, c.g, c.ch, c.k, c.pad, lo, hi)
			for i := lo; i < hi; i++ {
				oy, ox := i/ow, i%ow
				for o := 0; o < out; o++ {
					var got, want float64
					for j := 0; j < kc; j++ {
						got += float64(col[(i-lo)*kc+j]) * float64(kh[o*kc+j])
					}
					for ci := 0; ci < c.ch; ci++ {
						for ky := 0; ky < c.k; ky++ {
							for kx := 0; kx < c.k; kx++ {
								y, x := oy+ky-c.pad, ox+kx-c.pad
								if y < 0 || x < 0 || y >= c.g.H || x >= c.g.W {
									continue
								}
								want += float64(src[(y*c.g.W+x)*c.ch+ci]) * float64(kern[((o*c.ch+ci)*c.k+ky)*c.k+kx])
							}
						}
					}
					if math.Abs(got-want) > 1e-9 {
						t.Fatalf("%v k%d pad %d: output %d channel %d = %g, want %g", c.g, c.k, c.pad, i, o, got, want)
					}
				}
			}
		}
	}
}

// shiftBias is a QueryBias for tests: bias[i, j] = q_i[0]·(j+1).
type shiftBias struct{}

func (shiftBias) TermsLen(posenc.Grid) int { return 1 }
func (shiftBias) Terms(terms []float32, q []float32, ldq int, g posenc.Grid, lo, hi int) error {
	for r := 0; r < hi-lo; r++ {
		terms[r] = q[r*ldq]
	}
	return nil
}
func (shiftBias) Fill(bias []float32, ldb int, terms []float32, g posenc.Grid, rows int) {
	for r := 0; r < rows; r++ {
		for j := 0; j < g.N(); j++ {
			bias[r*ldb+j] = terms[r] * float32(j+1) / float32(g.N())
		}
	}
}

// TestAttendGrid: AttendGrid is softmax(scale·q·kᵀ + bias(q))·v written
// directly, on both attention paths, for spans that cross query tiles, on
// heads interleaved in a qkv matrix.
func TestAttendGrid(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const heads, hd = 2, 8
	d := heads * hd
	for _, g := range []posenc.Grid{{H: 3, W: 5}, {H: 20, W: 30}} {
		n := g.N()
		qkv := make([]float32, n*3*d)
		for i := range qkv {
			qkv[i] = float32(r.NormFloat64())
		}
		scale := float32(1 / math.Sqrt(hd))
		for _, minKeys := range []int{1, 1 << 30} { // fused, unfused
			saved := fusedMinKeys
			fusedMinKeys = minKeys
			out := make([]float32, n*d)
			var s GridScratch
			for h := 0; h < heads; h++ {
				col := h * hd
				for lo := 0; lo < n; lo += 400 {
					if err := AttendGrid(out[col:], d, qkv[col:], 3*d, qkv[d+col:], 3*d, qkv[2*d+col:], 3*d,
						g, lo, min(n, lo+400), hd, scale, shiftBias{}, &s); err != nil {
						t.Fatal(err)
					}
				}
			}
			fusedMinKeys = saved
			for h := 0; h < heads; h++ {
				col := h * hd
				for i := 0; i < n; i++ {
					p := make([]float64, n)
					mx := math.Inf(-1)
					for j := 0; j < n; j++ {
						var s float64
						for c := 0; c < hd; c++ {
							s += float64(qkv[i*3*d+col+c]) * float64(qkv[j*3*d+d+col+c])
						}
						p[j] = s*float64(scale) + float64(qkv[i*3*d+col])*float64(j+1)/float64(n)
						mx = max(mx, p[j])
					}
					var sum float64
					for j := range p {
						p[j] = math.Exp(p[j] - mx)
						sum += p[j]
					}
					for c := 0; c < hd; c++ {
						var want float64
						for j := range p {
							want += p[j] / sum * float64(qkv[j*3*d+2*d+col+c])
						}
						if got := out[i*d+col+c]; math.Abs(float64(got)-want) > 1e-5 {
							t.Fatalf("%v, fused from %d: head %d query %d value %d = %g, want %g", g, minKeys, h, i, c, got, want)
						}
					}
				}
			}
		}
	}
	var s GridScratch
	buf := make([]float32, 64)
	if err := AttendGrid(buf, 4, buf, 4, buf, 4, buf, 4, posenc.Grid{H: 2, W: 2}, 2, 5, 4, 1, nil, &s); err == nil {
		t.Error("queries past the grid accepted")
	}
}

// TestGridTile: AttendGrid's query tiles are queryTile rows, or with a bias
// that would not fit biasTileFloats the most whole register tiles of the
// GEMM whose bias does (one at least).
func TestGridTile(t *testing.T) {
	mr := kernels.GemmRowTile()
	for _, n := range []int{1, 15, 196, 600, 1024, 4096, 16384, 1 << 20} {
		if got := gridTile(n, false); got != queryTile {
			t.Errorf("n %d, no bias: %d rows, want queryTile %d", n, got, queryTile)
		}
		got := gridTile(n, true)
		if queryTile*n <= biasTileFloats {
			if got != queryTile {
				t.Errorf("n %d, bias: %d rows, want queryTile %d (its bias fits)", n, got, queryTile)
			}
			continue
		}
		if got < mr || got >= queryTile || got%mr != 0 {
			t.Errorf("n %d, bias: %d rows, want a multiple of %d in [%d, %d)", n, got, mr, mr, queryTile)
		}
		if got*n > biasTileFloats && got > mr {
			t.Errorf("n %d, bias: %d rows hold %d bias values, over %d", n, got, got*n, biasTileFloats)
		}
		if (got+mr)*n <= biasTileFloats {
			t.Errorf("n %d, bias: %d rows, but %d fit", n, got, got+mr)
		}
	}
}

// TestGridScratchReserve: a scratch reserved for a grid, spans and bias
// serves its first such calls without allocating, on both attention paths
// (a worker's first global item may come in a warm pass).
func TestGridScratchReserve(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are not meaningful under -race")
	}
	const hd, span = 8, 16
	g := posenc.Grid{H: 5, W: 7}
	n := g.N()
	qkv := make([]float32, n*3*hd)
	out := make([]float32, n*hd)
	every := func(s *GridScratch, qb posenc.QueryBias) {
		for lo := 0; lo < n; lo += span {
			if err := AttendGrid(out, hd, qkv, 3*hd, qkv[hd:], 3*hd, qkv[2*hd:], 3*hd,
				g, lo, min(n, lo+span), hd, 1, qb, s); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, minKeys := range []int{1, 1 << 30} { // fused, unfused
		saved := fusedMinKeys
		fusedMinKeys = minKeys
		for _, qb := range []posenc.QueryBias{nil, shiftBias{}} {
			for _, low := range []kernels.KVPrecision{kernels.KVFloat32, kernels.KVBFloat16, kernels.KVInt8} { // low ones where the level has them
				// The kernels' own scratch warms on another worker's scratch.
				warm, s := GridScratch{KV: low}, GridScratch{KV: low}
				every(&warm, qb)
				s.Reserve(posenc.Grid{H: 2, W: 2}, span, hd, qb, low) // a window first: Reserve only grows
				s.Reserve(g, span, hd, qb, low)
				// Counted from the allocation profile: MemStats would also
				// count the runtime's own allocations meanwhile.
				if d := allocs.PerRun(1, func() { every(&s, qb) }); d != 0 {
					t.Errorf("fused from %d keys, bias %v, keys and values %v: %v allocations in the first calls after Reserve", minKeys, qb != nil, low, d)
				}
			}
		}
		fusedMinKeys = saved
	}
}
