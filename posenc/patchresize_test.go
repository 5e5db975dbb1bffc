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

// TestResizePatchEmbedGolden runs every timm resample_patch_embed case. The
// reference inverts a float32 matrix in float32, so agreement is bounded by
// its conditioning: the golden README gives about 1e-5.
func TestResizePatchEmbedGolden(t *testing.T) {
	f := golden.Open(t, "resample_patch_embed.safetensors")
	if len(f.Cases) == 0 {
		t.Fatal("no cases")
	}
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range f.Cases {
			var p struct {
				NewSize       [2]int `json:"new_size"`
				Interpolation string `json:"interpolation"`
				Antialias     bool   `json:"antialias"`
			}
			c.Decode(t, &p)
			k, ks := f.F32(t, c.Inputs[0])
			want, ws := f.F32(t, c.Outputs[0])
			if ws[2] != p.NewSize[0] || ws[3] != p.NewSize[1] {
				t.Fatalf("%s: output shape %v", c.Name, ws)
			}
			got, err := posenc.ResizePatchEmbed(k, ks[0], ks[1], [2]int{ks[2], ks[3]}, p.NewSize,
				posenc.ResampleOptions{Method: method(t, p.Interpolation), Antialias: p.Antialias})
			if err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			golden.Close(t, c.Name, got, want, 1e-5, 1e-5)
		}
	})
}

// TestResizePatchEmbedKeepsTokens: upsampling makes the resize matrix M of
// full column rank, so pinv(Mᵀ) is a right inverse of Mᵀ and a resized
// patch gives exactly the old token: ⟨resize(x), w_new⟩ = ⟨x, w⟩.
func TestResizePatchEmbedKeepsTokens(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, tc := range []struct {
		old, new [2]int
		opt      posenc.ResampleOptions
	}{
		{[2]int{16, 16}, [2]int{32, 32}, posenc.DefaultResampleOptions()},
		{[2]int{8, 8}, [2]int{30, 12}, posenc.ResampleOptions{Method: posenc.Bilinear}},
		{[2]int{14, 14}, [2]int{16, 16}, posenc.ResampleOptions{Method: posenc.Bicubic}},
		{[2]int{5, 7}, [2]int{9, 11}, posenc.ResampleOptions{Method: posenc.Fourier}},
		{[2]int{3, 4}, [2]int{6, 8}, posenc.ResampleOptions{Method: posenc.Nearest}},
	} {
		const outCh, inCh = 2, 3
		oldN := tc.old[0] * tc.old[1]
		k := make([]float32, outCh*inCh*oldN)
		for i := range k {
			k[i] = float32(rng.NormFloat64() * 0.1)
		}
		kn, err := posenc.ResizePatchEmbed(k, outCh, inCh, tc.old, tc.new, tc.opt)
		if err != nil {
			t.Fatal(err)
		}
		newN := tc.new[0] * tc.new[1]
		x := make([]float32, inCh*oldN) // one patch, channels first
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		xr := make([]float32, inCh*newN)
		for c := range inCh {
			r, err := posenc.ResampleGrid(x[c*oldN:(c+1)*oldN], posenc.Grid{H: tc.old[0], W: tc.old[1]},
				posenc.Grid{H: tc.new[0], W: tc.new[1]}, 1, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			copy(xr[c*newN:], r)
		}
		for o := range outCh {
			var before, after, mag float64
			for i := range inCh * oldN {
				before += float64(x[i]) * float64(k[o*inCh*oldN+i])
				mag += math.Abs(float64(x[i]) * float64(k[o*inCh*oldN+i]))
			}
			for i := range inCh * newN {
				after += float64(xr[i]) * float64(kn[o*inCh*newN+i])
			}
			if math.Abs(after-before) > 1e-5*mag {
				t.Errorf("%v→%v %v: token %d = %g after the resize, %g before", tc.old, tc.new, tc.opt, o, after, before)
			}
		}
	}
}

// BenchmarkResizePatchEmbed times FlexiViT's largest common step, a ViT-B
// patch kernel (768×3 slices) from 16×16 to 48×48: the per-axis SVD route
// keeps it near 0.1 s of CPU, where a dense 2304×256 pseudo-inverse would
// take seconds.
func BenchmarkResizePatchEmbed(b *testing.B) {
	k := make([]float32, 768*3*16*16)
	for i := range k {
		k[i] = float32(i%17) * 0.01
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := posenc.ResizePatchEmbed(k, 768, 3, [2]int{16, 16}, [2]int{48, 48}, posenc.DefaultResampleOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

func TestResizePatchEmbedErrors(t *testing.T) {
	def := posenc.DefaultResampleOptions()
	for _, tc := range []struct {
		name          string
		n, outCh, inC int
		old, new      [2]int
		opt           posenc.ResampleOptions
		err           string
	}{
		{"zero channels", 0, 0, 3, [2]int{4, 4}, [2]int{8, 8}, def, "must be positive"},
		{"negative in", 16, 1, -1, [2]int{4, 4}, [2]int{8, 8}, def, "must be positive"},
		{"zero size", 16, 1, 1, [2]int{4, 4}, [2]int{0, 8}, def, "sides must be"},
		{"huge size", 16, 1, 1, [2]int{4, 4}, [2]int{8, 1000}, def, "sides must be"},
		{"channel mismatch", 16 * 3, 2, 2, [2]int{4, 4}, [2]int{8, 8}, def, "want 2×2×4×4 = 64"},
		{"nearest antialias", 16, 1, 1, [2]int{4, 4}, [2]int{8, 8}, posenc.ResampleOptions{Method: posenc.Nearest, Antialias: true}, "not nearest"},
	} {
		_, err := posenc.ResizePatchEmbed(make([]float32, tc.n), tc.outCh, tc.inC, tc.old, tc.new, tc.opt)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error = %v, want %q", tc.name, err, tc.err)
		}
	}
	k := []float32{1, 2, 3, 4}
	same, err := posenc.ResizePatchEmbed(k, 1, 1, [2]int{2, 2}, [2]int{2, 2}, def)
	if err != nil || &same[0] == &k[0] {
		t.Fatalf("same size: %v (must be a copy)", err)
	}
	golden.Close(t, "same size", same, k, 0, 0)
}
