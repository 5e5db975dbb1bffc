package posenc

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
)

// linearRef is F.interpolate(mode='linear', align_corners=False) of a
// rows×dim table along its rows, in float64: source coordinate
// (i+0.5)·in/out−0.5, clamped at 0, the upper tap clamped to the last row.
func linearRef(t []float32, rows, dim, out int) []float64 {
	r := make([]float64, out*dim)
	for i := 0; i < out; i++ {
		s := max(0, (float64(i)+0.5)*float64(rows)/float64(out)-0.5)
		i0 := min(int(s), rows-1)
		i1 := min(i0+1, rows-1)
		f := s - float64(i0)
		for c := 0; c < dim; c++ {
			r[i*dim+c] = (1-f)*float64(t[i0*dim+c]) + f*float64(t[i1*dim+c])
		}
	}
	return r
}

// getRelPosRef is timm's get_rel_pos in float64.
func getRelPosRef(t []float32, rows, dim, q, k int) []float64 {
	l := 2*max(q, k) - 1
	var src []float64
	if rows == l {
		src = make([]float64, len(t))
		for i, v := range t {
			src[i] = float64(v)
		}
	} else {
		src = linearRef(t, rows, dim, l)
	}
	qs, ks := max(float64(k)/float64(q), 1), max(float64(q)/float64(k), 1)
	out := make([]float64, q*k*dim)
	for i := 0; i < q; i++ {
		for j := 0; j < k; j++ {
			o := int(float64(i)*qs - float64(j)*ks + float64(k-1)*ks)
			copy(out[(i*k+j)*dim:], src[o*dim:(o+1)*dim])
		}
	}
	return out
}

func randTable(r *rand.Rand, n int) []float32 {
	t := make([]float32, n)
	for i := range t {
		t[i] = float32(r.NormFloat64() * 0.5) // std 0.5, as the references draw rel_pos_h/w
	}
	return t
}

func closeTo(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*(1+math.Abs(want[i])) || math.IsNaN(d) {
			t.Fatalf("%s: element %d = %g, want %g", what, i, got[i], want[i])
		}
	}
}

// TestGetRelPos: the table as it is at its own size, resized linearly
// (up and down) for other sizes, gathered by offset, also for q ≠ k.
func TestGetRelPos(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct{ rows, q, k int }{
		{7, 4, 4},    // the window's own table
		{11, 6, 6},   // a global block at its training grid
		{11, 9, 9},   // larger grid: 11 → 17 rows
		{11, 3, 3},   // smaller: 11 → 5
		{27, 64, 64}, // far larger
		{7, 4, 2},    // q ≠ k (MViT's pooled keys)
		{7, 2, 5},
	} {
		const dim = 5
		tab := randTable(r, c.rows*dim)
		got, err := GetRelPos(tab, c.rows, dim, c.q, c.k)
		if err != nil {
			t.Fatal(err)
		}
		closeTo(t, "GetRelPos", got, getRelPosRef(tab, c.rows, dim, c.q, c.k), 1e-6)
	}
	if _, err := GetRelPos(make([]float32, 6), 3, 2, 0, 4); err == nil {
		t.Error("q = 0 accepted")
	}
	if _, err := GetRelPos(make([]float32, 5), 3, 2, 2, 2); err == nil {
		t.Error("5 values for 3×2 accepted")
	}
}

// TestDecomposedBias: the bias of every query tile, for tiles that start
// and end inside grid rows, equals timm's q·R_h + q·R_w (einsum) for those
// queries, with strides wider than the rows.
func TestDecomposedBias(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const hd, ldq = 8, 24 // q rows inside a wider (qkv) matrix
	for _, g := range []Grid{{H: 4, W: 4}, {H: 7, W: 3}, {H: 5, W: 9}, {H: 1, W: 1}} {
		rowsH, rowsW := 7, 11
		th, tw := randTable(r, rowsH*hd), randTable(r, rowsW*hd)
		d, err := NewDecomposedRelPos(th, rowsH, tw, rowsW, hd)
		if err != nil {
			t.Fatal(err)
		}
		n := g.N()
		q := randTable(r, n*ldq)
		rh, rw := getRelPosRef(th, rowsH, hd, g.H, g.H), getRelPosRef(tw, rowsW, hd, g.W, g.W)
		want := make([]float64, n*n)
		for i := 0; i < n; i++ {
			y, x := i/g.W, i%g.W
			for j := 0; j < n; j++ {
				ky, kx := j/g.W, j%g.W
				var s float64
				for c := 0; c < hd; c++ {
					qc := float64(q[i*ldq+c])
					s += qc*rh[(y*g.H+ky)*hd+c] + qc*rw[(x*g.W+kx)*hd+c]
				}
				want[i*n+j] = s
			}
		}
		for _, tile := range []int{n, 5, 3, 1} {
			ldb := n + 2
			for lo := 0; lo < n; lo += tile {
				hi := min(n, lo+tile)
				bias := make([]float32, (hi-lo)*ldb)
				terms := make([]float32, (hi-lo)*d.TermsLen(g))
				if err := d.Terms(terms, q[lo*ldq:], ldq, g, lo, hi); err != nil {
					t.Fatal(err)
				}
				d.Fill(bias, ldb, terms, g, hi-lo)
				for r := lo; r < hi; r++ {
					closeTo(t, g.String()+" bias row", bias[(r-lo)*ldb:(r-lo)*ldb+n], want[r*n:(r+1)*n], 1e-5)
				}
			}
		}
	}
}

// TestDecomposedGolden: SAM's reference file's tables load, and the
// global block's resize to each case's grid is the linear one.
func TestDecomposedGolden(t *testing.T) {
	f := golden.Open(t, "samvit_relpos.safetensors")
	for _, name := range f.Names() {
		if !strings.HasSuffix(name, ".attn.rel_pos_h") {
			continue
		}
		th, sh := f.F32(t, name)
		tw, sw := f.F32(t, strings.TrimSuffix(name, "h")+"w")
		d, err := NewDecomposedRelPos(th, sh[0], tw, sw[0], sh[1])
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range f.Cases {
			_, out := f.F32(t, c.Outputs[0])
			g := Grid{H: out[2], W: out[3]}
			tb, err := d.tables(g)
			if err != nil {
				t.Fatal(err)
			}
			closeTo(t, name+" at "+c.Name, tb.rh, getRelPosRef(th, sh[0], sh[1], g.H, g.H), 1e-6)
			closeTo(t, name+" at "+c.Name, tb.rw, getRelPosRef(tw, sw[0], sw[1], g.W, g.W), 1e-6)
		}
	}
}

// TestDecomposedErrors: bad tables, query ranges and buffers are errors.
func TestDecomposedErrors(t *testing.T) {
	if _, err := NewDecomposedRelPos(make([]float32, 6), 3, make([]float32, 5), 3, 2); err == nil {
		t.Error("a short width table accepted")
	}
	if _, err := NewDecomposedRelPos(nil, 0, nil, 0, 2); err == nil {
		t.Error("empty tables accepted")
	}
	d, err := NewDecomposedRelPos(make([]float32, 14), 7, make([]float32, 14), 7, 2)
	if err != nil {
		t.Fatal(err)
	}
	g := Grid{H: 4, W: 4}
	buf := make([]float32, 16*16)
	for _, c := range []struct {
		lo, hi, ldq int
		terms       int
	}{
		{0, 17, 2, 1000}, // past the grid
		{3, 3, 2, 1000},  // empty
		{0, 16, 1, 1000}, // q rows narrower than the head
		{0, 16, 2, 10},   // short terms
	} {
		if err := d.Terms(make([]float32, c.terms), buf, c.ldq, g, c.lo, c.hi); err == nil {
			t.Errorf("queries [%d, %d), ldq %d, %d terms accepted", c.lo, c.hi, c.ldq, c.terms)
		}
	}
}
