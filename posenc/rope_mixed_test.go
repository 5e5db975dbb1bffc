package posenc

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels/kerneltest"
)

// mixedFreqs draws timm-shaped rope.freqs (2 × depth × heads × hd/2).
func mixedFreqs(rng *rand.Rand, depth, heads, hd int) []float32 {
	f := make([]float32, depth*heads*hd)
	for i := range f {
		f[i] = float32(rng.NormFloat64())
	}
	return f
}

// mixedReference is timm's apply_rot_embed_cat(x, get_embed(g)[b, h]) for
// one head's rows of x (n rows of hd, contiguous), written from the
// formula in float64: θ = tx·fx + ty·fy, x' = x·cos θ + rot(x)·sin θ.
func mixedReference(x []float32, freqs []float32, depth, heads, hd, b, h int, g Grid, xy bool) []float64 {
	half := hd / 2
	f := (b*heads + h) * half
	fy0 := depth * heads * half
	out := make([]float64, len(x))
	for i := 0; i < g.N(); i++ {
		tx, ty := float64(i/g.W), float64(i%g.W)
		if xy {
			tx, ty = ty, tx
		}
		for k := 0; k < half; k++ {
			th := tx*float64(freqs[f+k]) + ty*float64(freqs[fy0+f+k])
			s, c := math.Sin(th), math.Cos(th)
			x0, x1 := float64(x[i*hd+2*k]), float64(x[i*hd+2*k+1])
			out[i*hd+2*k] = x0*c - x1*s
			out[i*hd+2*k+1] = x1*c + x0*s
		}
	}
	return out
}

// TestRopeMixedReference rotates a fused qkv matrix with every block's
// layer and compares q and k of every head with the formula; prefix rows
// and v stay untouched.
func TestRopeMixedReference(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, tc := range []struct {
			depth, heads, hd, prefix int
			g                        Grid
			xy                       bool
		}{
			{2, 3, 16, 1, Grid{3, 5}, true},
			{1, 2, 8, 0, Grid{4, 4}, false},
			{3, 1, 12, 4, Grid{7, 2}, true},
			{2, 4, 20, 1, Grid{1, 9}, false},
		} {
			freqs := mixedFreqs(rng, tc.depth, tc.heads, tc.hd)
			r, err := NewRopeMixed(freqs, tc.depth, tc.heads, tc.hd, tc.xy)
			if err != nil {
				t.Fatal(err)
			}
			width := tc.heads * tc.hd
			ld := 3*width + 5
			rows := tc.prefix + tc.g.N()
			for b := 0; b < tc.depth; b++ {
				qkv := make([]float32, rows*ld)
				for i := range qkv {
					qkv[i] = float32(rng.NormFloat64())
				}
				orig := append([]float32(nil), qkv...)
				if err := r.Layer(b).RotateQKV(qkv, ld, tc.g, tc.heads, tc.hd, tc.prefix); err != nil {
					t.Fatal(err)
				}
				for p := 0; p < tc.prefix; p++ {
					for j := 0; j < ld; j++ {
						if qkv[p*ld+j] != orig[p*ld+j] {
							t.Fatalf("prefix row %d changed", p)
						}
					}
				}
				for part := 0; part < 3; part++ {
					for h := 0; h < tc.heads; h++ {
						col := part*width + h*tc.hd
						in := make([]float32, tc.g.N()*tc.hd)
						got := make([]float32, tc.g.N()*tc.hd)
						for i := 0; i < tc.g.N(); i++ {
							copy(in[i*tc.hd:(i+1)*tc.hd], orig[(tc.prefix+i)*ld+col:])
							copy(got[i*tc.hd:(i+1)*tc.hd], qkv[(tc.prefix+i)*ld+col:])
						}
						if part == 2 { // v
							for i := range in {
								if in[i] != got[i] {
									t.Fatalf("v changed")
								}
							}
							continue
						}
						want := mixedReference(in, freqs, tc.depth, tc.heads, tc.hd, b, h, tc.g, tc.xy)
						for i := range want {
							if d := math.Abs(float64(got[i]) - want[i]); d > 2e-5*(1+math.Abs(want[i])) {
								t.Fatalf("%+v block %d head %d part %d value %d: got %g, want %g", tc, b, h, part, i, got[i], want[i])
							}
						}
					}
				}
				// Rotate (separate q and k) gives the bits RotateQKV gives.
				q := make([]float32, rows*width)
				k := make([]float32, rows*width)
				for i := 0; i < rows; i++ {
					copy(q[i*width:(i+1)*width], orig[i*ld:])
					copy(k[i*width:(i+1)*width], orig[i*ld+width:])
				}
				if err := r.Layer(b).Rotate(q, k, tc.g, tc.heads, tc.hd, tc.prefix); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < rows; i++ {
					for j := 0; j < width; j++ {
						if q[i*width+j] != qkv[i*ld+j] || k[i*width+j] != qkv[i*ld+width+j] {
							t.Fatalf("Rotate and RotateQKV differ at row %d col %d", i, j)
						}
					}
				}
			}
		}
	})
}

// TestRopeMixedRelative: the attention logit of a rotated q and k depends
// only on the offset between their patches, so it is the same on any grid.
func TestRopeMixedRelative(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const hd = 8
	freqs := mixedFreqs(rng, 1, 1, hd)
	r, _ := NewRopeMixed(freqs, 1, 1, hd, true)
	q0, k0 := make([]float32, hd), make([]float32, hd)
	for i := range q0 {
		q0[i], k0[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	logit := func(g Grid, qi, ki int) float64 {
		q, k := make([]float32, g.N()*hd), make([]float32, g.N()*hd)
		copy(q[qi*hd:], q0)
		copy(k[ki*hd:], k0)
		if err := r.Layer(0).Rotate(q, k, g, 1, hd, 0); err != nil {
			t.Fatal(err)
		}
		var s float64
		for j := 0; j < hd; j++ {
			s += float64(q[qi*hd+j]) * float64(k[ki*hd+j])
		}
		return s
	}
	// Offset (+1 row, +2 columns) at two places on two grids.
	a := logit(Grid{3, 4}, 1*4+2, 0*4+0)
	b := logit(Grid{5, 6}, 4*6+5, 3*6+3)
	if math.Abs(a-b) > 1e-4 {
		t.Errorf("logit for the same offset: %g on 3×4, %g on 5×6", a, b)
	}
}

// TestRopeMixedCache: tables are built once per grid and at most
// RopeMixedCacheGrids grids are kept.
func TestRopeMixedCache(t *testing.T) {
	r, err := NewRopeMixed(make([]float32, 2*2*1*4/2), 2, 1, 4, false)
	if err != nil {
		t.Fatal(err)
	}
	s1, _, err := r.Tables(Grid{2, 3}, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	s2, _, _ := r.Tables(Grid{2, 3}, 1, 0)
	if &s1[0] != &s2[0] {
		t.Error("tables rebuilt for the same grid")
	}
	for i := 1; i <= 2*RopeMixedCacheGrids; i++ {
		if _, _, err := r.Tables(Grid{i, 1}, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(r.cache.m); n != RopeMixedCacheGrids {
		t.Errorf("%d grids cached, want at most %d", n, RopeMixedCacheGrids)
	}
}

// TestRopeMixedErrors: bad shapes from outside are errors, not panics.
func TestRopeMixedErrors(t *testing.T) {
	if _, err := NewRopeMixed(make([]float32, 10), 2, 3, 16, true); err == nil {
		t.Error("wrong frequency count accepted")
	}
	if _, err := NewRopeMixed(make([]float32, 2*3*6), 2, 3, 6, true); err == nil {
		t.Error("head dim not a multiple of 4 accepted")
	}
	bad := make([]float32, 2*1*4)
	bad[3] = float32(math.NaN())
	if _, err := NewRopeMixed(bad, 1, 1, 4, true); err == nil {
		t.Error("NaN frequency accepted")
	}
	r, _ := NewRopeMixed(make([]float32, 2*2*3*16/2), 2, 3, 16, true)
	qkv := make([]float32, 5*3*48)
	if err := r.Layer(0).RotateQKV(qkv, 3*48, Grid{2, 2}, 2, 24, 1); err == nil {
		t.Error("other head count accepted")
	}
	if err := r.Layer(2).RotateQKV(qkv, 3*48, Grid{2, 2}, 3, 16, 1); err == nil {
		t.Error("block past the depth accepted")
	}
	if err := r.Layer(0).RotateQKV(qkv[:100], 3*48, Grid{2, 2}, 3, 16, 1); err == nil {
		t.Error("short qkv accepted")
	}
	if err := r.Layer(0).RotateQKV(qkv, 3*48, Grid{0, 2}, 3, 16, 1); err == nil {
		t.Error("empty grid accepted")
	}
	if _, _, err := r.Tables(Grid{2, 2}, 0, 3); err == nil {
		t.Error("head past the heads accepted")
	}
}

// TestRotaryTablesXY: timm's grid_indexing='xy' swaps the axes (sizes and
// reference grid with them) before the meshgrid, which, for a row-major
// grid, puts the column coordinate's frequencies first: the tables are
// those of 'ij' with the two halves of each row swapped.
func TestRotaryTablesXY(t *testing.T) {
	const dim = 16
	for _, o := range []RopeOptions{
		{Bands: FreqBands, Temperature: 100},
		{Bands: FreqBands, RefGrid: Grid{3, 5}, GridOffset: 1},
		{Bands: PixelBands},
	} {
		g := Grid{4, 7}
		xy := o
		xy.XY = true
		s1, c1, err := RotaryTables(g, dim, xy)
		if err != nil {
			t.Fatal(err)
		}
		s2, c2, err := RotaryTables(g, dim, o)
		if err != nil {
			t.Fatal(err)
		}
		for tok := 0; tok < g.N(); tok++ {
			for k := 0; k < dim; k++ {
				a, b := tok*dim+k, tok*dim+(k+dim/2)%dim
				if s1[a] != s2[b] || c1[a] != c2[b] {
					t.Fatalf("%+v: token %d value %d differs", o, tok, k)
				}
			}
		}
		if o.Bands == FreqBands && s1[dim] == s2[dim] { // token (0, 1): the halves differ
			t.Fatalf("%+v: xy tables equal ij's", o)
		}
	}
}
