package posenc_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels/kerneltest"
	"github.com/anyres/anyres/posenc"
)

// resampleTolerance: summation order alone explains 1e-6 with bilinear's
// 4 taps and a few ulps of |x| < 4 with bicubic's 16 (see kernels'
// interpolate test); the golden README allows about 1e-5 for bicubic.
func resampleTolerance(m posenc.Method) (atol, rtol float64) {
	if m == posenc.Bicubic {
		return 4e-6, 1e-6
	}
	return 1e-6, 1e-6
}

func method(t *testing.T, s string) posenc.Method {
	t.Helper()
	m, err := posenc.ParseMethod(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestResampleGridGoldenInterpolate runs every F.interpolate case through
// the public API (the table seen as a channels-last grid).
func TestResampleGridGoldenInterpolate(t *testing.T) {
	f := golden.Open(t, "interpolate.safetensors")
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range f.Cases {
			var p struct {
				Size         [2]int `json:"size"`
				Mode         string `json:"mode"`
				Antialias    bool   `json:"antialias"`
				AlignCorners *bool  `json:"align_corners"`
			}
			c.Decode(t, &p)
			x, xs := f.F32(t, c.Inputs[0])
			want, _ := f.F32(t, c.Outputs[0])
			ch := xs[1]
			old, new := posenc.Grid{H: xs[2], W: xs[3]}, posenc.Grid{H: p.Size[0], W: p.Size[1]}
			opt := posenc.ResampleOptions{Method: method(t, p.Mode), Antialias: p.Antialias,
				AlignCorners: p.AlignCorners != nil && *p.AlignCorners}
			got, err := posenc.ResampleGrid(golden.NCHWToHWC(x, ch, old.H, old.W), old, new, ch, opt)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			atol, rtol := resampleTolerance(opt.Method)
			golden.Close(t, c.Name, got, golden.NCHWToHWC(want, ch, new.H, new.W), atol, rtol)
		}
	})
}

type absCase struct {
	NewSize       [2]int `json:"new_size"`
	OldSize       [2]int `json:"old_size"`
	Prefix        int    `json:"num_prefix_tokens"`
	Interpolation string `json:"interpolation"`
	Antialias     bool   `json:"antialias"`
}

// TestResampleAbsPosEmbedGolden runs every timm resample_abs_pos_embed case
// through ResampleAbsPosEmbed and through a Learned's Table and AddTo.
func TestResampleAbsPosEmbedGolden(t *testing.T) {
	f := golden.Open(t, "resample_abs_pos_embed.safetensors")
	if len(f.Cases) == 0 {
		t.Fatal("no cases")
	}
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range f.Cases {
			var p absCase
			c.Decode(t, &p)
			table, ts := f.F32(t, c.Inputs[0])
			want, ws := f.F32(t, c.Outputs[0])
			dim := ts[2]
			old, new := posenc.Grid{H: p.OldSize[0], W: p.OldSize[1]}, posenc.Grid{H: p.NewSize[0], W: p.NewSize[1]}
			if ws[1] != p.Prefix+new.N() {
				t.Fatalf("%s: output has %d rows", c.Name, ws[1])
			}
			opt := posenc.ResampleOptions{Method: method(t, p.Interpolation), Antialias: p.Antialias}
			atol, rtol := resampleTolerance(opt.Method)

			got, err := posenc.ResampleAbsPosEmbed(table, p.Prefix, old, new, dim, opt)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			golden.Close(t, c.Name, got, want, atol, rtol)

			l, err := posenc.NewLearned(table, p.Prefix, old, dim, opt)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			tab, err := l.Table(new)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			golden.Close(t, c.Name+" Learned.Table", tab, want, atol, rtol)

			x := make([]float32, len(want))
			if err := l.AddTo(x, p.Prefix, new, dim); err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			golden.Close(t, c.Name+" Learned.AddTo", x, want, atol, rtol)
		}
	})
}

// TestResampleAbsPosEmbedSameGrid: old == new returns an equal copy, for
// every method (timm's early return), and never the caller's slice.
func TestResampleAbsPosEmbedSameGrid(t *testing.T) {
	table := randTable(1+6*4, 5, 1)
	for _, m := range []posenc.Method{posenc.Bicubic, posenc.Bilinear, posenc.Nearest, posenc.Fourier} {
		got, err := posenc.ResampleAbsPosEmbed(table, 1, posenc.Grid{H: 6, W: 4}, posenc.Grid{H: 6, W: 4}, 5, posenc.ResampleOptions{Method: m})
		if err != nil {
			t.Fatal(err)
		}
		golden.Close(t, m.String(), got, table, 0, 0)
		got[0] = 99
		if table[0] == 99 {
			t.Fatal("result aliases the input")
		}
	}
}

// TestResampleAbsPosEmbedSameCountOtherGrid: where timm would return the
// table unchanged (same token count, square new grid, other old grid), the
// table is resampled.
func TestResampleAbsPosEmbedSameCountOtherGrid(t *testing.T) {
	old, new := posenc.Grid{H: 16, W: 9}, posenc.Grid{H: 12, W: 12}
	table := randTable(old.N(), 3, 2)
	got, err := posenc.ResampleAbsPosEmbed(table, 0, old, new, 3, posenc.DefaultResampleOptions())
	if err != nil {
		t.Fatal(err)
	}
	want, err := posenc.ResampleGrid(table, old, new, 3, posenc.DefaultResampleOptions())
	if err != nil {
		t.Fatal(err)
	}
	golden.Close(t, "16×9 → 12×12", got, want, 0, 0)
	same := true
	for i := range got {
		same = same && got[i] == table[i]
	}
	if same {
		t.Fatal("table returned unchanged")
	}
}

func randTable(rows, dim int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 7))
	t := make([]float32, rows*dim)
	for i := range t {
		t[i] = float32(rng.NormFloat64() * 0.5)
	}
	return t
}

func TestGridFromTokens(t *testing.T) {
	for _, tc := range []struct {
		rows, prefix int
		want         posenc.Grid
		err          string
	}{
		{197, 1, posenc.Grid{H: 14, W: 14}, ""},
		{196, 0, posenc.Grid{H: 14, W: 14}, ""},
		{261, 5, posenc.Grid{H: 16, W: 16}, ""},
		{2, 1, posenc.Grid{H: 1, W: 1}, ""},
		{1 << 24, 0, posenc.Grid{H: 4096, W: 4096}, ""},
		{198, 1, posenc.Grid{}, "not a square"},
		{5, 5, posenc.Grid{}, "no patch rows"},
		{5, 6, posenc.Grid{}, "do not fit"},
		{5, -1, posenc.Grid{}, "do not fit"},
	} {
		g, err := posenc.GridFromTokens(tc.rows, tc.prefix)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("GridFromTokens(%d, %d) error = %v, want %q", tc.rows, tc.prefix, err, tc.err)
			}
			continue
		}
		if err != nil || g != tc.want {
			t.Errorf("GridFromTokens(%d, %d) = %v, %v, want %v", tc.rows, tc.prefix, g, err, tc.want)
		}
	}
}

func TestResampleErrors(t *testing.T) {
	g := func(h, w int) posenc.Grid { return posenc.Grid{H: h, W: w} }
	def := posenc.DefaultResampleOptions()
	for _, tc := range []struct {
		name     string
		table    []float32
		prefix   int
		old, new posenc.Grid
		dim      int
		opt      posenc.ResampleOptions
		err      string
	}{
		{"zero new side", make([]float32, 2*4*3), 0, g(4, 3), g(0, 5), 2, def, "must be positive"},
		{"negative old side", make([]float32, 12), 0, g(-4, 3), g(5, 5), 1, def, "must be positive"},
		{"zero dim", make([]float32, 12), 0, g(4, 3), g(5, 5), 0, def, "dim 0"},
		{"negative prefix", make([]float32, 12), -1, g(4, 3), g(5, 5), 1, def, "negative prefix"},
		{"table too short", make([]float32, 2*12-1), 0, g(4, 3), g(5, 5), 2, def, "not a multiple"},
		{"rows fit another grid", make([]float32, 2*(1+25)), 1, g(4, 3), g(5, 5), 2, def, "fit a 5×5 grid"},
		{"rows fit no grid", make([]float32, 2*(1+24)), 1, g(4, 3), g(5, 5), 2, def, "leave 24 patch rows"},
		{"prefix larger than table", make([]float32, 2*3), 4, g(1, 1), g(5, 5), 2, def, "fewer than the 4 prefix"},
		{"huge grid", make([]float32, 12), 0, g(4, 3), g(5000, 5), 1, def, "limited to 4096"},
		{"huge table", make([]float32, 12*64), 0, g(4, 3), g(4096, 4096), 64, def, "exceed the limit"},
		{"nearest antialias", make([]float32, 12), 0, g(4, 3), g(5, 5), 1, posenc.ResampleOptions{Method: posenc.Nearest, Antialias: true}, "not nearest"},
		{"nearest align corners", make([]float32, 12), 0, g(4, 3), g(5, 5), 1, posenc.ResampleOptions{Method: posenc.Nearest, AlignCorners: true}, "align_corners"},
		{"fourier align corners", make([]float32, 12), 0, g(4, 3), g(5, 5), 1, posenc.ResampleOptions{Method: posenc.Fourier, AlignCorners: true}, "AlignCorners"},
		{"fourier too large", make([]float32, 12), 0, g(4, 3), g(2000, 5), 1, posenc.ResampleOptions{Method: posenc.Fourier}, "limited to 1024"},
		{"unknown method", make([]float32, 12), 0, g(4, 3), g(5, 5), 1, posenc.ResampleOptions{Method: 9}, "unknown"},
	} {
		_, err := posenc.ResampleAbsPosEmbed(tc.table, tc.prefix, tc.old, tc.new, tc.dim, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error = %v, want %q", tc.name, err, tc.err)
		}
	}
	if _, err := posenc.ResampleGrid(make([]float32, 11), g(4, 3), g(5, 5), 1, def); err == nil || !strings.Contains(err.Error(), "has 11 values") {
		t.Errorf("ResampleGrid with a short table: %v", err)
	}
	if _, err := posenc.ResampleGrid(make([]float32, 12), g(4, 3), g(5, 5), -1, def); err == nil || !strings.Contains(err.Error(), "channel count") {
		t.Errorf("ResampleGrid with negative channels: %v", err)
	}
	if _, err := posenc.ParseMethod("lanczos"); err == nil {
		t.Error("ParseMethod(lanczos) succeeded")
	}
}

// TestResampleGridShapes resamples every pair of shapes from 1×1 to
// 128×128, square and not, with every method, checking sizes, finiteness
// and that constants stay constant (every method preserves them).
func TestResampleGridShapes(t *testing.T) {
	sizes := []posenc.Grid{{H: 1, W: 1}, {H: 1, W: 9}, {H: 7, W: 1}, {H: 2, W: 2}, {H: 14, W: 14}, {H: 24, W: 17},
		{H: 37, W: 23}, {H: 64, W: 64}, {H: 128, W: 128}, {H: 3, W: 128}}
	opts := []posenc.ResampleOptions{{Method: posenc.Bicubic, Antialias: true}, {Method: posenc.Bicubic},
		{Method: posenc.Bilinear, Antialias: true}, {Method: posenc.Bilinear, AlignCorners: true},
		{Method: posenc.Nearest}, {Method: posenc.Fourier}}
	kerneltest.Run(t, func(t *testing.T) {
		for i, old := range sizes {
			for j, new := range sizes {
				opt := opts[(i+j)%len(opts)]
				const dim = 5
				src := make([]float32, old.N()*dim)
				for k := range src {
					src[k] = float32(k%dim) - 1.5
				}
				got, err := posenc.ResampleGrid(src, old, new, dim, opt)
				if err != nil {
					t.Fatalf("%v → %v %v: %v", old, new, opt, err)
				}
				if len(got) != new.N()*dim {
					t.Fatalf("%v → %v: %d values", old, new, len(got))
				}
				for k, v := range got {
					if want := float64(k%dim) - 1.5; v-float32(want) > 2e-5 || float32(want)-v > 2e-5 {
						t.Fatalf("%v → %v %v: constant channel %d became %g at %d", old, new, opt, k%dim, v, k/dim)
					}
				}
			}
		}
	})
}

// TestDINOv2Interpolate checks facebookresearch/dinov2's own table
// resampling (interpolate_pos_encoding) in both published settings: offset
// 0.1 through scale_factor without antialias, and offset 0 with antialias.
func TestDINOv2Interpolate(t *testing.T) {
	f := golden.Open(t, "dinov2_interpolate.safetensors")
	if len(f.Cases) == 0 {
		t.Fatal("no cases")
	}
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range f.Cases {
			var p struct {
				Grid      [2]int  `json:"grid"`
				Table     [2]int  `json:"table"`
				Offset    float64 `json:"interpolate_offset"`
				Antialias bool    `json:"interpolate_antialias"`
			}
			c.Decode(t, &p)
			table, ts := f.F32(t, c.Inputs[0])
			want, _ := f.F32(t, c.Outputs[0])
			opt := posenc.ResampleOptions{Method: posenc.Bicubic, Antialias: p.Antialias, ScaleOffset: p.Offset}
			if p.Offset == 0 {
				// The two settings of the published models.
				opt = posenc.DINOv2Resample(true)
			} else if p.Offset == 0.1 && !p.Antialias {
				opt = posenc.DINOv2Resample(false)
			}
			// gen_models.py calls interpolate_pos_encoding(x, w=gw·14,
			// h=gh·14), but the function's first size is the row count
			// (dinov2's own forward passes x.shape[2] there): the reference
			// is the table on a gw×gh grid, rows first.
			old, new := posenc.Grid{H: p.Table[0], W: p.Table[1]}, posenc.Grid{H: p.Grid[1], W: p.Grid[0]}
			l, err := posenc.NewLearned(table, 1, old, ts[2], opt)
			if err != nil {
				t.Fatal(err)
			}
			got, err := l.Table(new)
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			golden.Close(t, c.Name, got, want, 1e-5, 1e-5)
		}
	})
	// Without the offset the samples move: the rule is what makes it match.
	// The case: the offset rule's largest grid other than the table's own.
	var pick *golden.Case
	var old, new posenc.Grid
	for i, c := range f.Cases {
		var p struct {
			Grid   [2]int  `json:"grid"`
			Table  [2]int  `json:"table"`
			Offset float64 `json:"interpolate_offset"`
		}
		c.Decode(t, &p)
		g := posenc.Grid{H: p.Grid[1], W: p.Grid[0]} // rows first, as above
		if p.Offset != 0 && g != (posenc.Grid{H: p.Table[0], W: p.Table[1]}) && (pick == nil || g.N() > new.N()) {
			pick, old, new = &f.Cases[i], posenc.Grid{H: p.Table[0], W: p.Table[1]}, g
		}
	}
	if pick == nil {
		t.Fatal("no case with the offset and a grid other than the table's")
	}
	table, ts := f.F32(t, pick.Inputs[0])
	want, _ := f.F32(t, pick.Outputs[0])
	plain, _ := posenc.ResampleAbsPosEmbed(table, 1, old, new, ts[2], posenc.ResampleOptions{Method: posenc.Bicubic})
	var d float64
	for i := range want {
		d = max(d, math.Abs(float64(plain[i]-want[i])))
	}
	if d < 1e-3 {
		t.Errorf("%s: plain bicubic is within %g of the offset rule: the test cannot tell them apart", pick.Name, d)
	}
}
