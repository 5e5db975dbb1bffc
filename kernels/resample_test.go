package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// interpCase is the params of one interpolate.safetensors case.
type interpCase struct {
	Size         [2]int `json:"size"`
	Mode         string `json:"mode"`
	Antialias    bool   `json:"antialias"`
	AlignCorners *bool  `json:"align_corners"`
}

func parseMode(t *testing.T, s string) kernels.InterpMode {
	switch s {
	case "nearest":
		return kernels.InterpNearest
	case "bilinear":
		return kernels.InterpBilinear
	case "bicubic":
		return kernels.InterpBicubic
	}
	t.Fatalf("unknown mode %q", s)
	return 0
}

// interpTolerance bounds the difference from PyTorch that summation order
// alone explains (values here are below 4 in magnitude, ulp 4.8e-7): 1e-6
// for nearest and bilinear (≤ 4 taps); bicubic sums 16 taps, so a few ulps
// of 4 — 4e-6, the spread the golden README measures between PyTorch
// versions, and well inside its "about 1e-5" for bicubic paths.
func interpTolerance(mode string) (atol, rtol float64) {
	if mode == "bicubic" {
		return 4e-6, 1e-6
	}
	return 1e-6, 1e-6
}

func TestResampleGoldenInterpolate(t *testing.T) {
	f := golden.Open(t, "interpolate.safetensors")
	if len(f.Cases) == 0 {
		t.Fatal("no interpolate cases")
	}
	kerneltest.Run(t, func(t *testing.T) {
		for _, c := range f.Cases {
			var p interpCase
			c.Decode(t, &p)
			x, xs := f.F32(t, c.Inputs[0])
			want, ws := f.F32(t, c.Outputs[0])
			ch, inH, inW := xs[1], xs[2], xs[3]
			outH, outW := ws[2], ws[3]
			if outH != p.Size[0] || outW != p.Size[1] {
				t.Fatalf("%s: output shape %v, params %v", c.Name, ws, p.Size)
			}
			ac := p.AlignCorners != nil && *p.AlignCorners
			mode := parseMode(t, p.Mode)
			th := kernels.InterpTaps(inH, outH, mode, ac, p.Antialias)
			tw := kernels.InterpTaps(inW, outW, mode, ac, p.Antialias)
			out := kerneltest.Slice(outH*outW*ch, 0)
			kernels.Resample(0, out.Data(), golden.NCHWToHWC(x, ch, inH, inW), ch, th, tw)
			out.Check(t, c.Name)
			atol, rtol := interpTolerance(p.Mode)
			golden.Close(t, c.Name, out.Data(), golden.NCHWToHWC(want, ch, outH, outW), atol, rtol)
		}
	})
}

// TestWeightedRowSum checks the per-level kernel against a float64
// reference for every length up to 130, 0 to 9 taps, unaligned rows and
// guard bands around the output.
func TestWeightedRowSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	kerneltest.Run(t, func(t *testing.T) {
		for n := 0; n <= 130; n++ {
			for taps := 0; taps <= 9; taps++ {
				src := make([]float32, 3*n+41)
				for i := range src {
					src[i] = float32(rng.NormFloat64())
				}
				offs := make([]int, taps)
				w := make([]float32, taps)
				for j := range offs {
					offs[j] = rng.IntN(len(src) - n + 1)
					w[j] = float32(rng.NormFloat64())
				}
				out := kerneltest.Slice(n, 1+rng.IntN(2)) // unaligned output
				dst := out.Data()
				kernels.WeightedRowSum(dst, src, offs, w)
				for k := range n {
					var ref, mag float64
					for j := range offs {
						ref += float64(w[j]) * float64(src[offs[j]+k])
						mag += math.Abs(float64(w[j]) * float64(src[offs[j]+k]))
					}
					if d := math.Abs(float64(dst[k]) - ref); d > 1e-6*mag+1e-30 {
						t.Fatalf("n=%d taps=%d: dst[%d] = %g, want %g", n, taps, k, dst[k], ref)
					}
				}
				out.Check(t, fmt.Sprintf("n=%d taps=%d", n, taps))
			}
		}
	})
}

func TestWeightedRowSumPanicsOutsideSrc(t *testing.T) {
	for _, tc := range []struct {
		n, off, srcLen int
	}{{4, 7, 10}, {4, -1, 10}, {11, 0, 10}} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "leaves src") {
					t.Errorf("n=%d off=%d: recover() = %v, want a 'leaves src' panic", tc.n, tc.off, r)
				}
			}()
			kernels.WeightedRowSum(make([]float32, tc.n), make([]float32, tc.srcLen), []int{tc.off}, []float32{1})
		}()
	}
}

// TestResampleMatchesTapsMatrix checks the 2-D resample against the taps'
// own dense matrices, in float64, for shapes 1×1 up to 128×128, non-square
// ones and every mode, with channel counts that leave SIMD tails.
func TestResampleMatchesTapsMatrix(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := [][2]int{{1, 1}, {1, 7}, {5, 1}, {3, 3}, {14, 14}, {7, 23}, {37, 23}, {64, 64}, {128, 128}, {2, 128}}
	type opt struct {
		mode   kernels.InterpMode
		ac, aa bool
	}
	opts := []opt{{kernels.InterpNearest, false, false}, {kernels.InterpBilinear, false, false}, {kernels.InterpBilinear, true, false},
		{kernels.InterpBilinear, false, true}, {kernels.InterpBicubic, false, false}, {kernels.InterpBicubic, true, false},
		{kernels.InterpBicubic, false, true}, {kernels.InterpBicubic, true, true}}
	kerneltest.Run(t, func(t *testing.T) {
		for _, in := range sizes {
			for _, out := range sizes {
				if in[0]*in[1]*out[0]*out[1] > 1<<14 && testing.Short() {
					continue
				}
				o := opts[rng.IntN(len(opts))]
				c := 1 + rng.IntN(20)
				th := kernels.InterpTaps(in[0], out[0], o.mode, o.ac, o.aa)
				tw := kernels.InterpTaps(in[1], out[1], o.mode, o.ac, o.aa)
				src := make([]float32, in[0]*in[1]*c)
				for i := range src {
					src[i] = float32(rng.NormFloat64())
				}
				dst := make([]float32, out[0]*out[1]*c)
				kernels.Resample(kernels.Threads(1+rng.IntN(3)), dst, src, c, th, tw)
				ref, mag := separableRef(th.Matrix(), tw.Matrix(), src, in, out, c)
				for i := range ref {
					if math.Abs(float64(dst[i])-ref[i]) > 1e-5*mag[i]+1e-30 {
						t.Fatalf("%v→%v %+v c=%d: value %d = %g, want %g", in, out, o, c, i, dst[i], ref[i])
					}
				}
			}
		}
	})
}

// separableRef computes Mh·X·Mwᵀ per channel in float64, with the same
// sums over absolute values (the scale of rounding errors).
func separableRef(mh, mw, src []float32, in, out [2]int, c int) (ref, mag []float64) {
	mid := make([]float64, in[0]*out[1]*c)
	midAbs := make([]float64, len(mid))
	for h := range in[0] {
		for ow := range out[1] {
			for iw := range in[1] {
				w := float64(mw[ow*in[1]+iw])
				for ch := range c {
					v := w * float64(src[(h*in[1]+iw)*c+ch])
					mid[(h*out[1]+ow)*c+ch] += v
					midAbs[(h*out[1]+ow)*c+ch] += math.Abs(v)
				}
			}
		}
	}
	ref = make([]float64, out[0]*out[1]*c)
	mag = make([]float64, len(ref))
	row := out[1] * c
	for oh := range out[0] {
		for h := range in[0] {
			w := float64(mh[oh*in[0]+h])
			for k := range row {
				ref[oh*row+k] += w * mid[h*row+k]
				mag[oh*row+k] += math.Abs(w) * midAbs[h*row+k]
			}
		}
	}
	return ref, mag
}

// TestInterpTapsProperties checks facts every mode must have: same size is
// the identity, and the weights of bilinear and antialiased taps sum to 1.
func TestInterpTapsProperties(t *testing.T) {
	for in := 1; in <= 40; in++ {
		for out := 1; out <= 40; out++ {
			for _, mode := range []kernels.InterpMode{kernels.InterpNearest, kernels.InterpBilinear, kernels.InterpBicubic} {
				for _, aa := range []bool{false, true} {
					if aa && mode == kernels.InterpNearest {
						continue
					}
					m := kernels.InterpTaps(in, out, mode, false, aa).Matrix()
					for o := range out {
						var sum float64
						for i := range in {
							v := float64(m[o*in+i])
							sum += v
							if in == out && v != b2f(i == o) {
								t.Fatalf("%v aa=%v %d→%d: not the identity at (%d,%d): %g", mode, aa, in, out, o, i, v)
							}
						}
						// Keys' polynomial cancels in float32 (terms near 3, sum
						// near 0), so plain bicubic rows sum to 1 only within ~1e-6.
						if tol := 1e-6 + 2e-6*b2f(mode == kernels.InterpBicubic && !aa); math.Abs(sum-1) > tol {
							t.Fatalf("%v aa=%v %d→%d: row %d sums to %g", mode, aa, in, out, o, sum)
						}
					}
				}
			}
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestInterpTapsBadArguments(t *testing.T) {
	for _, f := range []func(){
		func() { kernels.InterpTaps(0, 3, kernels.InterpBilinear, false, false) },
		func() { kernels.InterpTaps(3, -1, kernels.InterpBilinear, false, false) },
		func() { kernels.InterpTaps(3, 4, kernels.InterpNearest, false, true) },
		func() { kernels.MatrixTaps(2, 2, make([]float32, 3)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			f()
		}()
	}
}

func TestMatrixTaps(t *testing.T) {
	m := []float32{0.5, 0.25, 0.25, 1, 0, 2}
	tp := kernels.MatrixTaps(3, 2, m)
	if got := tp.Matrix(); fmt.Sprint(got) != fmt.Sprint(m) {
		t.Fatalf("Matrix() = %v, want %v", got, m)
	}
	kerneltest.Run(t, func(t *testing.T) {
		src := []float32{1, 10, 2, 20, 4, 40} // 1×3×2
		dst := make([]float32, 4)
		kernels.Resample(1, dst, src, 2, kernels.InterpTaps(1, 1, kernels.InterpNearest, false, false), tp)
		want := []float32{0.5 + 0.5 + 1, 5 + 5 + 10, 1 + 8, 10 + 80}
		if fmt.Sprint(dst) != fmt.Sprint(want) {
			t.Fatalf("got %v, want %v", dst, want)
		}
	})
}

// TestResampleAntialiasAlignCorners pins antialias with align_corners=True,
// which the golden files lack: values from F.interpolate on PyTorch 1.13
// (Debian's python3-torch, the goldens' version) for a 5×7 input.
func TestResampleAntialiasAlignCorners(t *testing.T) {
	x := []float32{1.8423298597335815, 0.5188871622085571, -1.7119213342666626, -1.7013792991638184, 2.0194194316864014, -0.26861444115638733, -0.13071750104427338,
		-1.4374138116836548, 0.39076822996139526, -0.0189677607268095, -1.3526873588562012, -0.7308177947998047, 0.9879222512245178, -0.4194079339504242,
		-0.5848958492279053, -0.782335102558136, 2.779863119125366, 1.2220252752304077, -0.33644935488700867, -0.17916560173034668, 1.9230599403381348,
		0.287949800491333, 0.9367964863777161, -2.403135061264038, 0.8183425664901733, -0.6632770895957947, 0.2652658224105835, -1.6391186714172363,
		-1.8153051137924194, -0.20662859082221985, -0.5259512066841125, -1.697732925415039, -1.0364670753479004, 0.6704617738723755, -0.1777045875787735}
	for _, tc := range []struct {
		mode kernels.InterpMode
		out  [2]int
		want []float32
		atol float64
	}{
		{kernels.InterpBilinear, [2]int{3, 4}, []float32{0.10850295424461365, -0.45683836936950684, 0.15815803408622742, 0.09988603740930557,
			-0.17683635652065277, 0.10701412707567215, -0.08162413537502289, 0.08377563208341599,
			-0.6608626246452332, -0.8819781541824341, -0.34172406792640686, -0.26500287652015686}, 1e-6},
		{kernels.InterpBicubic, [2]int{8, 3}, []float32{0.06599158048629761, -0.0637696385383606, -0.010165434330701828, -0.15110285580158234,
			-0.19763751327991486, -0.01329337153583765, -0.45646142959594727, -0.3541267514228821, 0.06423813104629517, 0.011929494328796864,
			0.21313735842704773, 0.8299049735069275, 0.46279770135879517, 0.6490352749824524, 1.1710517406463623, 0.14965754747390747,
			0.01803051121532917, -0.4352453649044037, -0.3271142840385437, -0.48823750019073486, -1.062761664390564, -0.8335292935371399,
			-0.5954681038856506, -0.026544896885752678}, 1e-6},
	} {
		kerneltest.Run(t, func(t *testing.T) {
			th := kernels.InterpTaps(5, tc.out[0], tc.mode, true, true)
			tw := kernels.InterpTaps(7, tc.out[1], tc.mode, true, true)
			got := make([]float32, len(tc.want))
			kernels.Resample(1, got, x, 1, th, tw)
			golden.Close(t, tc.mode.String(), got, tc.want, tc.atol, 1e-6)
		})
	}
}
