package nn

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestAttnNorm: Block.AttnNorm normalises the attention output before
// Proj. A LayerNorm does not see a scale of its input, so with it,
// tripling v (its weights and biases) changes nothing; without it, it
// does. A norm of the wrong width is refused.
func TestAttnNorm(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	img := randomImg(r, 24, 20)
	run := func(norm, tripleV bool) []float32 {
		enc := randomEncoder(rand.New(rand.NewPCG(1, 2)))
		d := enc.Dim
		for i := range enc.Blocks {
			b := &enc.Blocks[i]
			if norm {
				w, bias := make([]float32, d), make([]float32, d)
				for j := range w {
					w[j], bias[j] = 1+0.1*float32(j%3), 0.01*float32(j%5)
				}
				b.AttnNorm = &LayerNorm{W: w, B: bias, Eps: 1e-6}
			}
			// q, k, v drawn afresh (the same for every run), v's rows
			// scaled through NewLinear's gamma.
			qr := rand.New(rand.NewPCG(3, uint64(i)))
			wq, bq, gamma := make([]float32, 3*d*d), make([]float32, 3*d), make([]float32, 3*d)
			for j := range wq {
				wq[j] = (qr.Float32()*2 - 1) * 0.3
			}
			for j := range bq {
				bq[j], gamma[j] = (qr.Float32()*2-1)*0.1, 1
				if tripleV && j >= 2*d {
					gamma[j] = 3
				}
			}
			b.QKV = NewLinear(wq, bq, 3*d, d, gamma)
		}
		m, err := NewModel(enc, RunOptions{Threads: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var o Output
		if err := m.Forward(img, &o); err != nil {
			t.Fatal(err)
		}
		return o.Tokens
	}
	diff := func(a, b []float32) float64 {
		d := 0.0
		for i := range a {
			d = max(d, math.Abs(float64(a[i]-b[i])))
		}
		return d
	}
	if d := diff(run(true, false), run(true, true)); d > 1e-4 {
		t.Errorf("with the attention norm, tripling v changes the output by %g", d)
	}
	if d := diff(run(false, false), run(false, true)); d < 1e-2 {
		t.Errorf("without it, tripling v changes the output by only %g: the test cannot tell", d)
	}
	enc := randomEncoder(r)
	enc.Blocks[1].AttnNorm = &LayerNorm{W: make([]float32, enc.Dim-1), Eps: 1e-6}
	if err := enc.Check(); !errors.Is(err, ErrConfig) {
		t.Errorf("attention norm of width %d for %d: got %v", enc.Dim-1, enc.Dim, err)
	}
}
