package kernels_test

import (
	"testing"

	"github.com/anyres/anyres/kernels"
)

// TestLowPrecisionEmptyK: a product over K = 0 (a Linear layer with no
// inputs) is C = act(bias) + residual in int8 and bf16 alike, as in
// float32 (GemmPacked), at every level, instead of a panic while packing;
// also with the residual in C itself.
func TestLowPrecisionEmptyK(t *testing.T) {
	const m, n = 3, 5
	bias := []float32{1, -2, 3, -4, 5}
	for _, l := range kernels.Levels() {
		restore, err := kernels.SetLevel(l)
		if err != nil {
			t.Fatal(err)
		}
		q := kernels.NewQuantB(0, n, nil, make([]float32, n))
		b := kernels.NewBF16B(0, n, nil, 0)
		f := kernels.PackB(true, 0, n, nil, 0)
		for _, act := range []kernels.Activation{kernels.ActNone, kernels.ActGELU} {
			for _, inPlace := range []bool{false, true} {
				start := func() []float32 {
					c := make([]float32, m*n)
					for i := range c {
						c[i] = float32(i) - 7
					}
					return c
				}
				ep := func(c []float32) kernels.Epilogue {
					e := kernels.Epilogue{Bias: bias, Act: act}
					if inPlace {
						e.Residual, e.LDR = c, n
					}
					return e
				}
				want := start()
				kernels.GemmPacked(1, m, nil, 0, f, want, n, ep(want))
				for name, run := range map[string]func(c []float32){
					"int8": func(c []float32) { kernels.GemmQuant(1, m, nil, 0, q, c, n, ep(c)) },
					"bf16": func(c []float32) { kernels.GemmBF16(1, m, nil, 0, b, c, n, ep(c)) },
				} {
					c := start()
					run(c)
					for i := range c {
						if c[i] != want[i] {
							t.Fatalf("%s at %s (act %v, residual in C %v): C[%d] = %v, float32 gives %v", name, l, act, inPlace, i, c[i], want[i])
						}
					}
				}
			}
		}
		restore()
	}
}
