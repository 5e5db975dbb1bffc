package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// qRef is the int8 product's specification written out independently of
// the kernels: per-row 7-bit asymmetric activations, per-column symmetric
// int8 weights, int64 sums, then the dequantisation in float32 in the
// documented order. It returns the pre-activation output (M×N) and the
// exact float64 product with an error bound for the quantization itself.
func qRef(m, n, k int, a []float32, lda int, w []float32, ldw int, bias []float32) (spec []float32, exact, bound []float64) {
	// Weights: per output row of W (column of B).
	wq := make([]int64, n*k)
	sw := make([]float32, n)
	for j := 0; j < n; j++ {
		var mx float32
		for p := 0; p < k; p++ {
			mx = max(mx, float32(math.Abs(float64(w[j*ldw+p]))))
		}
		if mx == 0 {
			continue
		}
		sw[j] = mx / 127
		for p := 0; p < k; p++ {
			wq[j*k+p] = int64(math.RoundToEven(float64(w[j*ldw+p] / sw[j])))
		}
	}
	spec = make([]float32, m*n)
	exact = make([]float64, m*n)
	bound = make([]float64, m*n)
	aq := make([]int64, k)
	for i := 0; i < m; i++ {
		row := a[i*lda : i*lda+k]
		var lo, hi float32
		for _, x := range row {
			lo, hi = min(lo, x), max(hi, x)
		}
		sa := (hi - lo) / 127
		var z int64
		if sa > 0 {
			inv := 1 / sa
			z = max(0, min(127, int64(math.RoundToEven(float64(-lo*inv)))))
			for p, x := range row {
				aq[p] = max(0, min(127, int64(math.RoundToEven(float64(x*inv)))+z))
			}
		} else {
			sa = 0
			clear(aq)
		}
		for j := 0; j < n; j++ {
			var acc int64
			var e, bnd float64
			for p := 0; p < k; p++ {
				acc += (aq[p] - z) * wq[j*k+p]
				x, y := float64(row[p]), float64(w[j*ldw+p])
				e += x * y
				bnd += math.Abs(x)*float64(sw[j])/2 + math.Abs(y)*float64(sa)/2 + float64(sa)*float64(sw[j])/4
			}
			v := float32(acc)
			v = float32(v * float32(sa*sw[j]))
			if bias != nil {
				v = float32(v + bias[j])
				e += float64(bias[j])
			}
			spec[i*n+j] = v
			exact[i*n+j] = e
			bound[i*n+j] = 1.01*bnd + 1e-5*(math.Abs(e)+1)
		}
	}
	return spec, exact, bound
}

// TestGemmQuantSpec checks every level against the specification bit for
// bit (no activation), and against the exact product within the
// quantization bound, for all M/N/K tails, with guard bands around C.
func TestGemmQuantSpec(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	ms := []int{1, 2, 3, 4, 5, 6, 7, 13, 25}
	ns := []int{1, 15, 16, 17, 63, 64, 65, 129}
	ks := []int{1, 3, 4, 5, 33, 64, 257}
	type tc struct {
		m, n, k  int
		a, w, b  []float32
		lda, ldw int
	}
	var cases []tc
	for _, m := range ms {
		for _, n := range ns {
			for _, k := range ks {
				c := tc{m: m, n: n, k: k, lda: k + m%3, ldw: k + n%2}
				c.a = randMatrix(rng, m, k, c.lda)
				// Skewed rows (GELU-like) and a row of zeros exercise
				// the zero point and the all-zero scale.
				for i := 0; i < m; i++ {
					for p := 0; p < k; p++ {
						switch i % 4 {
						case 1:
							c.a[i*c.lda+p] = c.a[i*c.lda+p]*3 + 2.5
						case 3:
							if i == 3 {
								c.a[i*c.lda+p] = 0
							}
						}
					}
				}
				c.w = randMatrix(rng, n, k, c.ldw)
				if n > 2 {
					for p := 0; p < k; p++ {
						c.w[1*c.ldw+p] = 0 // a zero output channel
					}
				}
				c.b = randMatrix(rng, 1, n, n)
				cases = append(cases, c)
			}
		}
	}
	kerneltest.Run(t, func(t *testing.T) {
		for ci, c := range cases {
			qb := kernels.QuantizeB(true, c.k, c.n, c.w, c.ldw)
			for _, withBias := range []bool{false, true} {
				var bias []float32
				if withBias {
					bias = c.b
				}
				spec, exact, bound := qRef(c.m, c.n, c.k, c.a, c.lda, c.w, c.ldw, bias)
				ldc := c.n + ci%3
				g := kerneltest.Matrix(c.m, c.n, ldc, ci%5).Fill(func(i, j int) float32 { return float32(math.NaN()) })
				kernels.GemmQuant(kernels.Threads(1+ci%3), c.m, c.a, c.lda, qb, g.Data(), ldc, kernels.Epilogue{Bias: bias})
				name := fmt.Sprintf("%dx%dx%d bias=%v", c.m, c.n, c.k, withBias)
				g.Check(t, name)
				for i := 0; i < c.m; i++ {
					for j := 0; j < c.n; j++ {
						got := g.At(i, j)
						if math.Float32bits(got) != math.Float32bits(spec[i*c.n+j]) {
							t.Fatalf("%s: C[%d,%d] = %v, spec %v", name, i, j, got, spec[i*c.n+j])
						}
						if d := math.Abs(float64(got) - exact[i*c.n+j]); d > bound[i*c.n+j] {
							t.Fatalf("%s: C[%d,%d] = %v, exact %v: error %g over the quantization bound %g", name, i, j, got, exact[i*c.n+j], d, bound[i*c.n+j])
						}
					}
				}
			}
		}
	})
}

// TestGemmQuantEpilogue checks the activation and residual (separate and
// in place) against the float64 activation of the spec.
func TestGemmQuantEpilogue(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	m, n, k := 29, 70, 96
	a := randMatrix(rng, m, k, k)
	w := randMatrix(rng, n, k, k)
	bias := randMatrix(rng, 1, n, n)
	res := randMatrix(rng, m, n, n)
	qb := kernels.QuantizeB(true, k, n, w, k)
	spec, _, _ := qRef(m, n, k, a, k, w, k, bias)
	kerneltest.Run(t, func(t *testing.T) {
		for _, act := range []kernels.Activation{kernels.ActNone, kernels.ActGELU, kernels.ActGELUTanh, kernels.ActQuickGELU, kernels.ActSiLU} {
			for _, mode := range []string{"none", "separate", "inplace"} {
				g := kerneltest.Matrix(m, n, n, 3).Fill(func(i, j int) float32 { return res[i*n+j] })
				ep := kernels.Epilogue{Bias: bias, Act: act}
				switch mode {
				case "separate":
					ep.Residual, ep.LDR = res, n
				case "inplace":
					ep.Residual, ep.LDR = g.Data(), n
				}
				kernels.GemmQuant(2, m, a, k, qb, g.Data(), n, ep)
				g.Check(t, "epilogue")
				for i := 0; i < m; i++ {
					for j := 0; j < n; j++ {
						want := act64(act, float64(spec[i*n+j]))
						if mode != "none" {
							want += float64(res[i*n+j])
						}
						if d := math.Abs(float64(g.At(i, j)) - want); d > 1e-5*(1+math.Abs(want)) {
							t.Fatalf("act %v residual %s: C[%d,%d] = %v, want %v", act, mode, i, j, g.At(i, j), want)
						}
					}
				}
			}
		}
	})
}

// TestGemmQuantLevelsAndThreads: every level and thread count gives the
// same bits as generic with one thread (the integer sums are exact and the
// dequantisation is one shared order of float32 operations), with the
// bias alone, bias and residual (apart and in place: fused into the
// dequantising pass) and the residual alone.
//
// The shapes cover the AMX blocks' cuts too: 300 rows are two row blocks
// (of up to 256), 300 columns three calls of up to 128, K = 130 a zero
// padded last step of 64; 200 and 300 columns leave 8 and 12 over 16.
// Each weight is also quantized narrow (7 bits), which the AVX2 kernel
// takes two groups at a time: K = 300 and 130 are odd numbers of groups.
func TestGemmQuantLevelsAndThreads(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	for _, sh := range []struct {
		m, n, k int
		narrow  bool
	}{{197, 200, 300, false}, {300, 300, 130, false}, {197, 200, 300, true}, {300, 300, 130, true}} {
		m, n, k, narrow := sh.m, sh.n, sh.k, sh.narrow
		a := randMatrix(rng, m, k, k)
		w := randMatrix(rng, n, k, k)
		bias := randMatrix(rng, 1, n, n)
		res := randMatrix(rng, m, n, n)
		qb := kernels.QuantizeB(true, k, n, w, k)
		if narrow {
			q, s := kernels.QuantizeWeightsTo(w, n, k, k, kernels.NarrowQuantMax)
			if qb = kernels.NewQuantB(k, n, q, s); !qb.Narrow() {
				t.Fatal("a weight quantized to ±NarrowQuantMax is not narrow")
			}
		}
		modes := []string{"bias", "bias+residual", "bias+residual in place", "residual"}
		run := func(th kernels.Threads, mode string) []float32 {
			c := make([]float32, m*n)
			ep := kernels.Epilogue{Bias: bias}
			switch mode {
			case "bias+residual":
				ep.Residual, ep.LDR = res, n
			case "bias+residual in place":
				copy(c, res)
				ep.Residual, ep.LDR = c, n
			case "residual":
				ep = kernels.Epilogue{Residual: res, LDR: n}
			}
			kernels.GemmQuant(th, m, a, k, qb, c, n, ep)
			return c
		}
		restore, err := kernels.SetLevel(kernels.Generic)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]float32{}
		for _, mode := range modes {
			want[mode] = run(1, mode)
		}
		restore()
		kerneltest.Run(t, func(t *testing.T) {
			for _, th := range []kernels.Threads{1, 2, 3, 7} {
				for _, mode := range modes {
					if th != 1 && mode != "bias" && mode != "bias+residual in place" {
						continue // the thread split is the epilogue's own business
					}
					c := run(th, mode)
					for i := range c {
						if math.Float32bits(c[i]) != math.Float32bits(want[mode][i]) {
							t.Fatalf("%dx%dx%d narrow=%v threads=%d %s: C[%d] = %v, generic %v", m, n, k, narrow, th, mode, i, c[i], want[mode][i])
						}
					}
				}
			}
		})
	}
}

// TestQuantizeBLayouts: B given as K×N and as N×K quantize the same.
func TestQuantizeBLayouts(t *testing.T) {
	rng := rand.New(rand.NewPCG(37, 38))
	m, n, k := 9, 21, 37
	w := randMatrix(rng, n, k, k)
	wt := make([]float32, k*n)
	for j := 0; j < n; j++ {
		for p := 0; p < k; p++ {
			wt[p*n+j] = w[j*k+p]
		}
	}
	a := randMatrix(rng, m, k, k)
	c1, c2 := make([]float32, m*n), make([]float32, m*n)
	kernels.GemmQuant(1, m, a, k, kernels.QuantizeB(true, k, n, w, k), c1, n, kernels.Epilogue{})
	kernels.GemmQuant(1, m, a, k, kernels.QuantizeB(false, k, n, wt, n), c2, n, kernels.Epilogue{})
	for i := range c1 {
		if c1[i] != c2[i] {
			t.Fatalf("C[%d]: %v (N×K) vs %v (K×N)", i, c1[i], c2[i])
		}
	}
	q, s := kernels.QuantizeWeights(w, n, k, k)
	c3 := make([]float32, m*n)
	kernels.GemmQuant(1, m, a, k, kernels.NewQuantB(k, n, q, s), c3, n, kernels.Epilogue{})
	for i := range c1 {
		if c1[i] != c3[i] {
			t.Fatalf("C[%d]: %v (QuantizeB) vs %v (NewQuantB)", i, c1[i], c3[i])
		}
	}
}

func TestGemmQuantNoAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("AllocsPerRun is slow under the race detector")
	}
	kerneltest.Run(t, func(t *testing.T) {
		a, c, r := make([]float32, 70*64), make([]float32, 70*64), make([]float32, 70*64)
		qb := kernels.QuantizeB(true, 64, 64, a, 64)
		ep := kernels.Epilogue{Bias: a[:64], Act: kernels.ActGELU, Residual: r, LDR: 64}
		if n := testing.AllocsPerRun(10, func() { kernels.GemmQuant(1, 70, a, 64, qb, c, 64, ep) }); n != 0 {
			t.Errorf("GemmQuant: %v allocations per call", n)
		}
	})
}
