package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

func randn(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(0.5 * rng.NormFloat64())
	}
	return v
}

// mlpReference is timm's Mlp / GluMlp(gate_last=False) / SwiGLU on one
// row, in float64: fc1 (gate and value), act(gate)·value, LayerNorm,
// fc2.
func mlpReference(x []float32, gw, gb, vw, vb, nw, nb, w2, b2 []float32, d, h int, silu bool) []float64 {
	hid := make([]float64, h)
	for j := 0; j < h; j++ {
		g := float64(gb[j])
		for i := 0; i < d; i++ {
			g += float64(gw[j*d+i]) * float64(x[i])
		}
		if silu {
			v := float64(vb[j])
			for i := 0; i < d; i++ {
				v += float64(vw[j*d+i]) * float64(x[i])
			}
			hid[j] = g / (1 + math.Exp(-g)) * v
		} else {
			hid[j] = 0.5 * g * (1 + math.Erf(g/math.Sqrt2))
		}
	}
	if nw != nil {
		var mean, vr float64
		for _, v := range hid {
			mean += v
		}
		mean /= float64(h)
		for _, v := range hid {
			vr += (v - mean) * (v - mean)
		}
		vr /= float64(h)
		for j := range hid {
			hid[j] = (hid[j]-mean)/math.Sqrt(vr+1e-6)*float64(nw[j]) + float64(nb[j])
		}
	}
	out := make([]float64, d)
	for o := 0; o < d; o++ {
		s := float64(b2[o])
		for j := 0; j < h; j++ {
			s += float64(w2[o*h+j]) * hid[j]
		}
		out[o] = s
	}
	return out
}

// TestReadMLP reads each of timm's MLP layouts, with and without the
// hidden norm, and runs it against the float64 reference.
func TestReadMLP(t *testing.T) {
	const d, h, rows = 12, 10, 5
	rng := rand.New(rand.NewPCG(5, 6))
	kerneltest.Run(t, func(t *testing.T) {
		for _, layout := range []MLPLayout{MLPPlain, MLPPacked, MLPSplit} {
			for _, norm := range []bool{false, true} {
				gw, gb, vw, vb := randn(rng, h*d), randn(rng, h), randn(rng, h*d), randn(rng, h)
				w2, b2 := randn(rng, d*h), randn(rng, d)
				nw, nb := randn(rng, h), randn(rng, h)
				src := MapSource{"m.fc2.weight": {w2, []int{d, h}}, "m.fc2.bias": {b2, []int{d}}}
				act := kernels.ActGELU
				switch layout {
				case MLPPlain:
					src["m.fc1.weight"], src["m.fc1.bias"] = Tensor{gw, []int{h, d}}, Tensor{gb, []int{h}}
				case MLPPacked: // the gate is the first half
					src["m.fc1.weight"] = Tensor{append(slices.Clone(gw), vw...), []int{2 * h, d}}
					src["m.fc1.bias"] = Tensor{append(slices.Clone(gb), vb...), []int{2 * h}}
					act = kernels.ActSiLU
				case MLPSplit:
					src["m.fc1_g.weight"], src["m.fc1_g.bias"] = Tensor{gw, []int{h, d}}, Tensor{gb, []int{h}}
					src["m.fc1_x.weight"], src["m.fc1_x.bias"] = Tensor{vw, []int{h, d}}, Tensor{vb, []int{h}}
					act = kernels.ActSiLU
				}
				if norm {
					src["m.norm.weight"], src["m.norm.bias"] = Tensor{nw, []int{h}}, Tensor{nb, []int{h}}
				} else {
					nw, nb = nil, nil
				}
				w := NewWeights(src)
				raw := ReadMLP(w, "m.", layout, d, h, act, norm, 1e-6)
				if err := w.Finish(); err != nil {
					t.Fatal(err)
				}
				m := raw.Build(nil, nil)
				if err := m.Check(d); err != nil {
					t.Fatal(err)
				}
				in := randn(rng, rows*d)
				x := make([]float32, rows*d)
				m.Forward(1, rows, in, make([]float32, rows*m.Scratch()), x)
				for r := 0; r < rows; r++ {
					want := mlpReference(in[r*d:(r+1)*d], gw, gb, vw, vb, nw, nb, w2, b2, d, h, layout != MLPPlain)
					for o, v := range want {
						if diff := math.Abs(float64(x[r*d+o]) - v); diff > 1e-4 {
							t.Fatalf("layout %d norm %v row %d out %d: got %g, want %g", layout, norm, r, o, x[r*d+o], v)
						}
					}
				}
			}
		}
	})
}

// TestReadQKV: the fused (with q/v biases), fused-with-bias and separate
// layouts of the same projections read as the same [q | k | v] weight and
// bias, a missing k bias as zeros.
func TestReadQKV(t *testing.T) {
	const d = 8
	rng := rand.New(rand.NewPCG(7, 8))
	q, k, v := randn(rng, d*d), randn(rng, d*d), randn(rng, d*d)
	qb, vb := randn(rng, d), randn(rng, d)
	fused := append(append(slices.Clone(q), k...), v...)
	bias := append(append(slices.Clone(qb), make([]float32, d)...), vb...)
	for name, src := range map[string]MapSource{
		"fused, q and v bias": {"a.qkv.weight": {fused, []int{3 * d, d}}, "a.q_bias": {qb, []int{d}}, "a.v_bias": {vb, []int{d}}},
		"fused bias":          {"a.qkv.weight": {fused, []int{3 * d, d}}, "a.qkv.bias": {bias, []int{3 * d}}},
		"separate": {"a.q_proj.weight": {q, []int{d, d}}, "a.k_proj.weight": {k, []int{d, d}}, "a.v_proj.weight": {v, []int{d, d}},
			"a.q_proj.bias": {qb, []int{d}}, "a.v_proj.bias": {vb, []int{d}}},
	} {
		w := NewWeights(src)
		r := ReadQKV(w, "a.", d)
		gw, gb := r.W, r.B
		if err := w.Finish(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(gw, fused) || !slices.Equal(gb, bias) {
			t.Errorf("%s: read another weight or bias", name)
		}
	}
	w := NewWeights(MapSource{"a.qkv.weight": {fused, []int{3 * d, d}}, "a.q_bias": {qb, []int{d}}})
	ReadQKV(w, "a.", d)
	if err := w.Finish(); err == nil {
		t.Error("q_bias without v_bias accepted")
	}
}
