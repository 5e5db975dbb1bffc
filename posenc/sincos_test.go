package posenc

import (
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// goldenCases returns the cases of file whose fn is fn.
func goldenCases(f *golden.File, fn string) []golden.Case {
	var out []golden.Case
	for _, c := range f.Cases {
		if c.Fn == fn {
			out = append(out, c)
		}
	}
	return out
}

// needCases is goldenCases for a test that checks them: a file without
// such cases fails it (the count is the file's, whatever its parameters).
func needCases(t *testing.T, f *golden.File, fn string) []golden.Case {
	t.Helper()
	cases := goldenCases(f, fn)
	if len(cases) == 0 {
		t.Fatalf("no %s cases in the file", fn)
	}
	return cases
}

func TestSinCos2DTableGolden(t *testing.T) {
	f := golden.Open(t, "sincos_rope.safetensors")
	cases := needCases(t, f, "timm.layers.build_sincos2d_pos_embed")
	// Pure table builders: run on every level all the same, so a kernel
	// used underneath later cannot slip by.
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range cases {
			var p struct {
				FeatShape   [2]int  `json:"feat_shape"`
				Dim         int     `json:"dim"`
				Temperature float64 `json:"temperature"`
				Reverse     bool    `json:"reverse_coord"`
				Interleave  bool    `json:"interleave_sin_cos"`
			}
			c.Decode(t, &p)
			want, _ := f.F32(t, c.Outputs[0])
			got, err := SinCos2DTable(Grid{p.FeatShape[0], p.FeatShape[1]}, p.Dim,
				SinCosOptions{Temperature: p.Temperature, ReverseCoord: p.Reverse, Interleave: p.Interleave})
			if err != nil {
				t.Fatal(err)
			}
			golden.Close(t, c.Name, got, want, 1e-6, 1e-6)
		}
	})
}

// TestSinCosEncoderGolden checks the Encoder adds exactly the golden table to
// the patch rows and leaves the prefix rows alone, on every kernel level.
func TestSinCosEncoderGolden(t *testing.T) {
	f := golden.Open(t, "sincos_rope.safetensors")
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range goldenCases(f, "timm.layers.build_sincos2d_pos_embed") {
			var p struct {
				FeatShape  [2]int `json:"feat_shape"`
				Dim        int    `json:"dim"`
				Reverse    bool   `json:"reverse_coord"`
				Interleave bool   `json:"interleave_sin_cos"`
			}
			c.Decode(t, &p)
			want, _ := f.F32(t, c.Outputs[0])
			g := Grid{p.FeatShape[0], p.FeatShape[1]}
			const prefix = 2
			x := make([]float32, (prefix+g.N())*p.Dim)
			for i := range x {
				x[i] = float32(i%7) - 3
			}
			enc := &SinCos{Options: SinCosOptions{ReverseCoord: p.Reverse, Interleave: p.Interleave}}
			for round := 0; round < 2; round++ { // the second round uses the cached table
				y := append([]float32(nil), x...)
				if err := enc.AddTo(y, prefix, g, p.Dim); err != nil {
					t.Fatal(err)
				}
				golden.Close(t, c.Name+" prefix", y[:prefix*p.Dim], x[:prefix*p.Dim], 0, 0)
				exp := make([]float32, len(want))
				for i := range want {
					exp[i] = x[prefix*p.Dim+i] + want[i]
				}
				golden.Close(t, c.Name, y[prefix*p.Dim:], exp, 2e-6, 1e-6)
			}
		}
	})
}

func TestSinCosErrors(t *testing.T) {
	for _, tc := range []struct {
		g    Grid
		dim  int
		o    SinCosOptions
		want string
	}{
		{Grid{0, 3}, 8, SinCosOptions{}, "positive"},
		{Grid{3, -1}, 8, SinCosOptions{}, "positive"},
		{Grid{3, 3}, 6, SinCosOptions{}, "multiple of 4"},
		{Grid{3, 3}, 0, SinCosOptions{}, "multiple of 4"},
		{Grid{3, 3}, 8, SinCosOptions{Temperature: -1}, "temperature"},
		{Grid{MaxGridSide, MaxGridSide}, 32, SinCosOptions{}, "outside"},
		{Grid{1 << 20, 1 << 20}, 8, SinCosOptions{}, "not supported"},
	} {
		if _, err := SinCos2DTable(tc.g, tc.dim, tc.o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SinCos2DTable(%v, %d, %+v) error %v, want one containing %q", tc.g, tc.dim, tc.o, err, tc.want)
		}
	}
	var enc SinCos
	if err := enc.AddTo(make([]float32, 10), 0, Grid{2, 2}, 4); err == nil {
		t.Error("AddTo with a wrong token matrix length: no error")
	}
}

// TestHugeGridsAreErrors: sizes from outside are capped before anything is
// multiplied or allocated, on every encoding.
func TestHugeGridsAreErrors(t *testing.T) {
	huge := Grid{1 << 20, 3}
	if _, err := SinCos2DTable(huge, 8, SinCosOptions{}); err == nil {
		t.Error("SinCos2DTable: no error")
	}
	if _, _, err := RotaryTables(huge, 8, RopeOptions{}); err == nil {
		t.Error("RotaryTables: no error")
	}
	if _, err := RelativePositionIndex(huge, false); err == nil {
		t.Error("RelativePositionIndex: no error")
	}
	if _, err := RelativeLogCoords(huge, Grid{}, LogCoordsCR); err == nil {
		t.Error("RelativeLogCoords: no error")
	}
	if _, err := CoordFeatures(huge, nil); err == nil {
		t.Error("CoordFeatures: no error")
	}
	var enc SinCos
	if err := enc.AddTo(nil, 0, huge, 8); err == nil {
		t.Error("SinCos.AddTo: no error")
	}
	if err := enc.AddTo(nil, 1<<30, Grid{2, 2}, 8); err == nil {
		t.Error("SinCos.AddTo with a huge prefix: no error")
	}
	r := &Rope2D{}
	if err := r.Rotate(nil, nil, Grid{2, 2}, 1<<30, 8, 0); err == nil {
		t.Error("Rope2D.Rotate with 2^30 heads: no error")
	}
	b, _ := NewRelPosBias(make([]float32, 9*2), 2, Grid{2, 2}, false, nil)
	if err := b.AddBias(nil, 0, Grid{2, 2}, 1<<30, 0, 1); err == nil {
		t.Error("RelPosBias.AddBias with a huge prefix: no error")
	}
	if err := b.AddBias(nil, 0, Grid{1 << 13, 1 << 13}, 0, 0, 1); err == nil {
		t.Error("RelPosBias.AddBias at 8192×8192: no error")
	}
}
