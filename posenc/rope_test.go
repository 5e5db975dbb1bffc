package posenc

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels/kerneltest"
)

type ropeParams struct {
	FeatShape   [2]int  `json:"feat_shape"`
	Dim         int     `json:"dim"`
	MaxRes      int     `json:"max_res"`
	Temperature float64 `json:"temperature"`
	InPixels    bool    `json:"in_pixels"`
	Ref         []int   `json:"ref_feat_shape"`
}

func (p ropeParams) options() RopeOptions {
	o := RopeOptions{MaxRes: p.MaxRes, Temperature: p.Temperature}
	if !p.InPixels {
		o.Bands = FreqBands
	}
	if p.Ref != nil {
		o.RefGrid = Grid{p.Ref[0], p.Ref[1]}
	}
	return o
}

// ropeTol is the golden README's bound: sin/cos of pixel-band arguments up
// to ~350 rad differ by up to 9e-5 between PyTorch versions.
func ropeTol(p ropeParams) float64 {
	if p.InPixels {
		return 1e-4
	}
	return 1e-6
}

func TestRotaryTablesGolden(t *testing.T) {
	f := golden.Open(t, "sincos_rope.safetensors")
	cases := needCases(t, f, "timm.layers.build_rotary_pos_embed")
	// Pure table builders: run on every level all the same, so a kernel
	// used underneath later cannot slip by.
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range cases {
			var p ropeParams
			c.Decode(t, &p)
			wantSin, _ := f.F32(t, c.Outputs[0])
			wantCos, _ := f.F32(t, c.Outputs[1])
			sin, cos, err := RotaryTables(Grid{p.FeatShape[0], p.FeatShape[1]}, p.Dim, p.options())
			if err != nil {
				t.Fatal(err)
			}
			tol := ropeTol(p)
			golden.Close(t, c.Name+" sin", sin, wantSin, tol, 1e-6)
			golden.Close(t, c.Name+" cos", cos, wantCos, tol, 1e-6)
		}
	})
}

// TestRope2DRotateGolden applies the golden tables through Rope2D.Rotate on
// every kernel level and compares with timm's apply_rot_embed computed in
// float64 from the golden sin/cos: x·cos + rot(x)·sin.
func TestRope2DRotateGolden(t *testing.T) {
	f := golden.Open(t, "sincos_rope.safetensors")
	rng := rand.New(rand.NewPCG(1, 2))
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range goldenCases(f, "timm.layers.build_rotary_pos_embed") {
			var p ropeParams
			c.Decode(t, &p)
			sin, _ := f.F32(t, c.Outputs[0])
			cos, _ := f.F32(t, c.Outputs[1])
			g := Grid{p.FeatShape[0], p.FeatShape[1]}
			const heads, prefix = 3, 1
			hd := p.Dim
			q := kerneltest.Rand(rng, (prefix+g.N())*heads*hd, -2, 2)
			k := kerneltest.Rand(rng, len(q), -2, 2)
			wantQ, wantK := ropeReference(q, sin, cos, heads, hd, prefix), ropeReference(k, sin, cos, heads, hd, prefix)
			r := &Rope2D{Options: p.options()}
			if err := r.Rotate(q, k, g, heads, hd, prefix); err != nil {
				t.Fatal(err)
			}
			tol := ropeTol(p) * 4 // |x| ≤ 2 scales the table's error
			golden.Close(t, c.Name+" q", q, wantQ, tol, 1e-6)
			golden.Close(t, c.Name+" k", k, wantK, tol, 1e-6)
		}
	})
}

// ropeReference is timm's apply_rot_embed in float64 on the patch tokens.
func ropeReference(x, sin, cos []float32, heads, hd, prefix int) []float32 {
	out := append([]float32(nil), x...)
	for i := prefix * heads * hd; i < len(x); i += 2 {
		t := i/(heads*hd) - prefix
		d := i % hd
		x0, x1 := float64(x[i]), float64(x[i+1])
		out[i] = float32(x0*float64(cos[t*hd+d]) - x1*float64(sin[t*hd+d]))
		out[i+1] = float32(x1*float64(cos[t*hd+d+1]) + x0*float64(sin[t*hd+d+1]))
	}
	return out
}

// TestRotaryRelative checks the property RoPE exists for: with FreqBands,
// q·k after rotation depends only on the offset between the two positions.
func TestRotaryRelative(t *testing.T) {
	g := Grid{6, 7}
	const hd = 16
	r := &Rope2D{Options: RopeOptions{Bands: FreqBands}}
	rng := rand.New(rand.NewPCG(3, 4))
	qv, kv := kerneltest.Rand(rng, hd, -2, 2), kerneltest.Rand(rng, hd, -2, 2)
	dot := func(qy, qx, ky, kx int) float64 {
		q := make([]float32, g.N()*hd)
		k := make([]float32, g.N()*hd)
		copy(q[(qy*g.W+qx)*hd:], qv)
		copy(k[(ky*g.W+kx)*hd:], kv)
		if err := r.Rotate(q, k, g, 1, hd, 0); err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for i := range q {
			s += float64(q[i]) * float64(k[i])
		}
		return s
	}
	a, b := dot(1, 2, 3, 5), dot(2, 1, 4, 4)
	if math.Abs(a-b) > 1e-4 {
		t.Errorf("rotated q·k at the same offset differ: %g vs %g", a, b)
	}
}

func TestRotaryErrors(t *testing.T) {
	for _, tc := range []struct {
		g    Grid
		dim  int
		o    RopeOptions
		want string
	}{
		{Grid{0, 3}, 8, RopeOptions{}, "positive"},
		{Grid{3, 3}, 6, RopeOptions{}, "multiple of 4"},
		{Grid{3, 3}, 8, RopeOptions{MaxRes: 1}, "MaxRes"},
		{Grid{3, 3}, 8, RopeOptions{Bands: FreqBands, Temperature: math.Inf(1)}, "temperature"},
		{Grid{3, 3}, 8, RopeOptions{RefGrid: Grid{0, 4}}, "reference grid"},
		{Grid{3, 3}, 8, RopeOptions{Bands: 7}, "unknown"},
	} {
		if _, _, err := RotaryTables(tc.g, tc.dim, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("RotaryTables(%v, %d, %+v) error %v, want one containing %q", tc.g, tc.dim, tc.o, err, tc.want)
		}
	}
	r := &Rope2D{}
	q := make([]float32, 4*2*8)
	for _, tc := range []struct {
		heads, hd, prefix int
		want              string
	}{
		{0, 8, 0, "heads"},
		{2, 6, 0, "multiple of 4"},
		{2, 8, 1, "values"},
	} {
		if err := r.Rotate(q, nil, Grid{2, 2}, tc.heads, tc.hd, tc.prefix); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Rotate(heads %d, headDim %d, prefix %d) error %v, want one containing %q", tc.heads, tc.hd, tc.prefix, err, tc.want)
		}
	}
}

// TestRotateQKV: rotating q and k inside a fused qkv matrix gives what
// Rotate gives on separate matrices, and leaves v and the prefix alone.
func TestRotateQKV(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	kerneltest.Run(t, func(t *testing.T) {
		g := Grid{5, 7}
		const heads, hd, prefix = 3, 12, 2
		d := heads * hd
		for _, ld := range []int{3 * d, 3*d + 5} {
			rows := prefix + g.N()
			qkv := kerneltest.Rand(rng, rows*ld, -2, 2)
			q, k := make([]float32, rows*d), make([]float32, rows*d)
			for r := 0; r < rows; r++ {
				copy(q[r*d:(r+1)*d], qkv[r*ld:])
				copy(k[r*d:(r+1)*d], qkv[r*ld+d:])
			}
			want := append([]float32(nil), qkv...)
			r := &Rope2D{Options: RopeOptions{Bands: FreqBands}}
			if err := r.Rotate(q, k, g, heads, hd, prefix); err != nil {
				t.Fatal(err)
			}
			for row := 0; row < rows; row++ {
				copy(want[row*ld:], q[row*d:(row+1)*d])
				copy(want[row*ld+d:], k[row*d:(row+1)*d])
			}
			if err := r.RotateQKV(qkv, ld, g, heads, hd, prefix); err != nil {
				t.Fatal(err)
			}
			golden.Close(t, fmt.Sprintf("stride %d", ld), qkv, want, 0, 0)
		}
		r := &Rope2D{}
		if err := r.RotateQKV(make([]float32, 100), 3*8-1, Grid{2, 2}, 2, 4, 0); err == nil {
			t.Error("row stride below 3·heads·headDim: no error")
		}
		if err := r.RotateQKV(make([]float32, 4*24-1), 24, Grid{2, 2}, 2, 4, 0); err == nil {
			t.Error("short qkv: no error")
		}
	})
}
