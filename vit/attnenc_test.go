package vit

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/posenc"
)

// tinyConfig is a two-block ViT small enough for a float64 reference.
func tinyConfig() Config {
	return Config{ImgSize: [2]int{32, 32}, PatchSize: [2]int{8, 8}, InChans: 3, EmbedDim: 32, Depth: 2, NumHeads: 2,
		MLPHidden: 64, QKVBias: true, ClassToken: true, PosEmbed: "none", FinalNorm: true, NormEps: 1e-6, Act: "gelu_erf"}
}

func randomImage(h, w int, seed uint64) Image {
	r := rand.New(rand.NewPCG(seed, 7))
	img := Image{C: 3, H: h, W: w, Pix: make([]float32, 3*h*w)}
	for i := range img.Pix {
		img.Pix[i] = r.Float32()*2 - 1
	}
	return img
}

// randomRelBias is a RelPosBias for a 4×4 window (resized to other grids)
// with values of about ±1, zero with zero set.
func randomRelBias(t testing.TB, heads int, zero bool) *posenc.RelPosBias {
	window := posenc.Grid{H: 4, W: 4}
	table := make([]float32, posenc.RelPosTableRows(window, true)*heads)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range table {
		if !zero {
			table[i] = r.Float32()*2 - 1
		}
	}
	b, err := posenc.NewRelPosBias(table, heads, window, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func testRope() *posenc.Rope2D {
	return &posenc.Rope2D{Options: posenc.RopeOptions{Bands: posenc.FreqBands, RefGrid: posenc.Grid{H: 4, W: 4}}}
}

// referenceForward is timm's forward_features in float64 for tinyConfig's
// shape (class token, no position table, final norm), with EVA-02's RoPE
// (tables from posenc.RotaryTables) and a full attention bias (heads×N×N
// from Bias) when given.
func referenceForward(t *testing.T, cfg Config, src MapSource, img Image, rope *posenc.Rope2D, bias interface {
	Bias(posenc.Grid, int) ([]float32, error)
}) []float64 {
	d, heads, hd, p := cfg.EmbedDim, cfg.NumHeads, cfg.HeadDim(), cfg.PatchSize[0]
	g := posenc.Grid{H: img.H / p, W: img.W / p}
	n := 1 + g.N()
	w := func(name string) []float32 { return src[name].Data }
	x := make([]float64, n*d)
	copy64(x, w("cls_token"))
	pw, pb := w("patch_embed.proj.weight"), w("patch_embed.proj.bias")
	for py := 0; py < g.H; py++ {
		for px := 0; px < g.W; px++ {
			row := x[(1+py*g.W+px)*d:]
			for o := 0; o < d; o++ {
				s := float64(pb[o])
				for c := 0; c < 3; c++ {
					for ky := 0; ky < p; ky++ {
						for kx := 0; kx < p; kx++ {
							s += float64(pw[((o*3+c)*p+ky)*p+kx]) * float64(img.Pix[(c*img.H+py*p+ky)*img.W+px*p+kx])
						}
					}
				}
				row[o] = s
			}
		}
	}
	var sin, cos []float32
	if rope != nil {
		var err error
		if sin, cos, err = posenc.RotaryTables(g, hd, rope.Options); err != nil {
			t.Fatal(err)
		}
	}
	var fullBias []float32
	if bias != nil {
		var err error
		if fullBias, err = bias.Bias(g, 1); err != nil {
			t.Fatal(err)
		}
	}
	eps := cfg.NormEps
	for b := 0; b < cfg.Depth; b++ {
		pre := fmt.Sprintf("blocks.%d.", b)
		h := layerNorm64(x, w(pre+"norm1.weight"), w(pre+"norm1.bias"), d, eps)
		qkv := linear64(h, w(pre+"attn.qkv.weight"), w(pre+"attn.qkv.bias"), d, 3*d)
		if rope != nil {
			for tok := 1; tok < n; tok++ {
				for part := 0; part < 2; part++ {
					for hh := 0; hh < heads; hh++ {
						v := qkv[tok*3*d+part*d+hh*hd:]
						for i := 0; i < hd; i += 2 {
							s0, s1 := float64(sin[(tok-1)*hd+i]), float64(sin[(tok-1)*hd+i+1])
							c0, c1 := float64(cos[(tok-1)*hd+i]), float64(cos[(tok-1)*hd+i+1])
							a, bb := v[i], v[i+1]
							v[i], v[i+1] = a*c0-bb*s0, bb*c1+a*s1
						}
					}
				}
			}
		}
		ao := make([]float64, n*d)
		scale := 1 / math.Sqrt(float64(hd))
		for hh := 0; hh < heads; hh++ {
			for i := 0; i < n; i++ {
				sc := make([]float64, n)
				mx := math.Inf(-1)
				for j := 0; j < n; j++ {
					var s float64
					for e := 0; e < hd; e++ {
						s += qkv[i*3*d+hh*hd+e] * qkv[j*3*d+d+hh*hd+e]
					}
					s *= scale
					if fullBias != nil {
						s += float64(fullBias[(hh*n+i)*n+j])
					}
					sc[j] = s
					mx = max(mx, s)
				}
				var sum float64
				for j := range sc {
					sc[j] = math.Exp(sc[j] - mx)
					sum += sc[j]
				}
				for j := range sc {
					for e := 0; e < hd; e++ {
						ao[i*d+hh*hd+e] += sc[j] / sum * qkv[j*3*d+2*d+hh*hd+e]
					}
				}
			}
		}
		proj := linear64(ao, w(pre+"attn.proj.weight"), w(pre+"attn.proj.bias"), d, d)
		for i := range x {
			x[i] += proj[i]
		}
		h = layerNorm64(x, w(pre+"norm2.weight"), w(pre+"norm2.bias"), d, eps)
		hid := linear64(h, w(pre+"mlp.fc1.weight"), w(pre+"mlp.fc1.bias"), d, cfg.MLPHidden)
		for i, v := range hid {
			hid[i] = 0.5 * v * (1 + math.Erf(v/math.Sqrt2))
		}
		out := linear64(hid, w(pre+"mlp.fc2.weight"), w(pre+"mlp.fc2.bias"), cfg.MLPHidden, d)
		for i := range x {
			x[i] += out[i]
		}
	}
	return layerNorm64(x, w("norm.weight"), w("norm.bias"), d, eps)
}

func copy64(dst []float64, src []float32) {
	for i, v := range src {
		dst[i] = float64(v)
	}
}

func layerNorm64(x []float64, w, b []float32, d int, eps float64) []float64 {
	out := make([]float64, len(x))
	for r := 0; r < len(x); r += d {
		var mean, vr float64
		for _, v := range x[r : r+d] {
			mean += v
		}
		mean /= float64(d)
		for _, v := range x[r : r+d] {
			vr += (v - mean) * (v - mean)
		}
		inv := 1 / math.Sqrt(vr/float64(d)+eps)
		for j := 0; j < d; j++ {
			out[r+j] = (x[r+j]-mean)*inv*float64(w[j]) + float64(b[j])
		}
	}
	return out
}

// linear64 is x·Wᵀ + b for torch's (out, in) weight layout.
func linear64(x []float64, w, b []float32, in, out int) []float64 {
	rows := len(x) / in
	y := make([]float64, rows*out)
	for r := 0; r < rows; r++ {
		for o := 0; o < out; o++ {
			s := float64(b[o])
			for i := 0; i < in; i++ {
				s += x[r*in+i] * float64(w[o*in+i])
			}
			y[r*out+o] = s
		}
	}
	return y
}

func maxDiff64(a []float32, b []float64) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-b[i]))
	}
	return m
}

// TestAttentionEncodingsReference: RoPE and a relative position bias
// inside attention match a float64 reference of the whole tiny model.
func TestAttentionEncodingsReference(t *testing.T) {
	cfg := tinyConfig()
	src := RandomWeights(cfg, 5)
	img := randomImage(24, 40, 1) // a 3×5 grid
	for _, tc := range []struct {
		name string
		rope bool
		bias bool
	}{{"none", false, false}, {"rope", true, false}, {"bias", false, true}, {"rope+bias", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			perLevel(t, func(t *testing.T) {
				opts := Options{Threads: 2}
				var rope *posenc.Rope2D
				var rel *posenc.RelPosBias
				if tc.rope {
					rope = testRope()
					opts.Rotary = rope
				}
				var ref []float64
				if tc.bias {
					rel = randomRelBias(t, cfg.NumHeads, false)
					opts.AttentionBias = rel
					ref = referenceForward(t, cfg, src, img, rope, rel)
				} else {
					ref = referenceForward(t, cfg, src, img, rope, nil)
				}
				m, err := New(cfg, src, opts)
				if err != nil {
					t.Fatal(err)
				}
				var out Output
				if err := m.Forward(img, &out); err != nil {
					t.Fatal(err)
				}
				// The outputs are layer-normed (order 1); float32 GEMMs of
				// depth ≤ 192 stay well inside 1e-4.
				if diff := maxDiff64(out.Tokens, ref); diff > 1e-4 {
					t.Errorf("max |diff| vs float64 reference %.3g", diff)
				}
			})
		})
	}
}

// constRowBias adds a value that depends on the query row only: the
// softmax must not notice.
type constRowBias struct{ heads int }

func (b constRowBias) Heads() int { return b.heads }

func (b constRowBias) AddBias(scores []float32, head int, g posenc.Grid, prefix, lo, hi int) error {
	n := prefix + g.N()
	for r := lo; r < hi; r++ {
		for j := 0; j < n; j++ {
			scores[(r-lo)*n+j] += float32(r%7) + float32(head)
		}
	}
	return nil
}

// TestAttentionBiasEffect: a zero bias gives exactly no bias, a per-row
// constant changes nothing (beyond rounding), a real one changes outputs.
func TestAttentionBiasEffect(t *testing.T) {
	cfg := tinyConfig()
	src := RandomWeights(cfg, 5)
	img := randomImage(40, 24, 2)
	run := func(b posenc.AttentionBias) []float32 {
		m, err := New(cfg, src, Options{Threads: 2, AttentionBias: b})
		if err != nil {
			t.Fatal(err)
		}
		var out Output
		if err := m.Forward(img, &out); err != nil {
			t.Fatal(err)
		}
		return out.Tokens
	}
	plain := run(nil)
	if d := maxDiff(run(randomRelBias(t, cfg.NumHeads, true)), plain); d != 0 {
		t.Errorf("zero relative bias: max |diff| %g, want 0", d)
	}
	// A CPB with zero weights is 16·sigmoid(0) = 8 on every patch pair and
	// 0 for prefix tokens: a constant only without them.
	cpb, err := posenc.NewCPB(make([]float32, 8*2), make([]float32, 8), make([]float32, 2*8), 2, 8, posenc.Grid{H: 4, W: 4})
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(run(cpb), plain); d < 1e-3 {
		t.Errorf("CPB bias with a class token changed outputs by only %g", d)
	}
	noPrefix := cfg
	noPrefix.ClassToken = false
	srcNP := RandomWeights(noPrefix, 5)
	runNP := func(b posenc.AttentionBias) []float32 {
		m, err := New(noPrefix, srcNP, Options{Threads: 2, AttentionBias: b})
		if err != nil {
			t.Fatal(err)
		}
		var out Output
		if err := m.Forward(img, &out); err != nil {
			t.Fatal(err)
		}
		return out.Tokens
	}
	if d := maxDiff(runNP(cpb), runNP(nil)); d > 1e-6 {
		t.Errorf("constant CPB bias: max |diff| %g, want ≤ 1e-6", d)
	}
	if d := maxDiff(run(constRowBias{cfg.NumHeads}), plain); d > 1e-6 {
		t.Errorf("per-row constant bias: max |diff| %g, want ≤ 1e-6", d)
	}
	if d := maxDiff(run(randomRelBias(t, cfg.NumHeads, false)), plain); d < 1e-3 {
		t.Errorf("random relative bias changed outputs by only %g", d)
	}
}

// TestAttentionEncodingsPacked: with RoPE and a bias, each packed image
// gets its own grid's rotation and bias, as when run alone; any thread
// count gives the same bits.
func TestAttentionEncodingsPacked(t *testing.T) {
	cfg := tinyConfig()
	src := RandomWeights(cfg, 6)
	opts := Options{Threads: 1, Rotary: testRope(), AttentionBias: randomRelBias(t, cfg.NumHeads, false)}
	m, err := New(cfg, src, opts)
	if err != nil {
		t.Fatal(err)
	}
	imgs := []Image{randomImage(24, 40, 1), randomImage(64, 16, 2), randomImage(8, 8, 3), randomImage(48, 56, 4)}
	perLevel(t, func(t *testing.T) {
		outs := make([]Output, len(imgs))
		if err := m.ForwardBatch(imgs, outs); err != nil {
			t.Fatal(err)
		}
		for i, img := range imgs {
			var alone Output
			if err := m.Forward(img, &alone); err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(outs[i].Tokens, alone.Tokens); d > 1e-6 {
				t.Errorf("image %d (%d×%d): packed vs alone max |diff| %g", i, img.H, img.W, d)
			}
		}
		for _, threads := range []int{2, 3} {
			more := make([]Output, len(imgs))
			if err := m.withThreads(threads).ForwardBatch(imgs, more); err != nil {
				t.Fatal(err)
			}
			for i := range imgs {
				if d := maxDiff(more[i].Tokens, outs[i].Tokens); d != 0 {
					t.Errorf("%d threads, image %d: max |diff| %g, want bit-identical", threads, i, d)
				}
			}
		}
	})
}

// TestAttentionEncodingErrors: heads or head dims the encodings cannot
// serve are ErrConfig at New; a bias that cannot serve the prefix is an
// error at Forward; none panics.
func TestAttentionEncodingErrors(t *testing.T) {
	cfg := tinyConfig()
	src := RandomWeights(cfg, 5)
	if _, err := New(cfg, src, Options{AttentionBias: randomRelBias(t, 3, false)}); !errors.Is(err, ErrConfig) {
		t.Errorf("bias with 3 heads for a 2-head model: got %v, want ErrConfig", err)
	}
	odd := cfg
	odd.EmbedDim, odd.NumHeads = 36, 6 // head dim 6: not a multiple of 4
	if _, err := New(odd, RandomWeights(odd, 5), Options{Rotary: testRope()}); !errors.Is(err, ErrConfig) {
		t.Errorf("RoPE with head dim 6: got %v, want ErrConfig", err)
	}
	regs := cfg
	regs.RegTokens = 2 // three prefix tokens: BEiT's class-token rows bias one
	m, err := New(regs, RandomWeights(regs, 5), Options{AttentionBias: randomRelBias(t, 2, false)})
	if err != nil {
		t.Fatal(err)
	}
	var out Output
	if err := m.Forward(randomImage(16, 16, 1), &out); err == nil {
		t.Error("class-token bias with 3 prefix tokens: no error")
	}
}

// TestNoAllocsAttentionEncodings: RoPE and a bias keep a warm forward free
// of allocations (their per-grid tables are cached), packed batches too.
func TestNoAllocsAttentionEncodings(t *testing.T) {
	if testing.Short() {
		t.Skip("AllocsPerRun is slow under the race detector and emulators")
	}
	cfg := tinyConfig()
	m, err := New(cfg, RandomWeights(cfg, 5), Options{Threads: 2, Rotary: testRope(), AttentionBias: randomRelBias(t, cfg.NumHeads, false)})
	if err != nil {
		t.Fatal(err)
	}
	imgs := []Image{randomImage(24, 40, 1), randomImage(64, 16, 2)}
	outs := make([]Output, len(imgs))
	if err := m.ForwardBatch(imgs, outs); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(5, func() { m.ForwardBatch(imgs, outs) }); n != 0 {
		t.Errorf("%v allocations per warm forward", n)
	}
}
