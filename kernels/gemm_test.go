package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// sgemmCase is one Sgemm call with its operands.
type sgemmCase struct {
	transA, transB bool
	m, n, k        int
	lda, ldb, ldc  int
	alpha, beta    float32
	threads        kernels.Threads
}

func (c sgemmCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d lda=%d ldb=%d ldc=%d alpha=%v beta=%v threads=%d",
		c.transA, c.transB, c.m, c.n, c.k, c.lda, c.ldb, c.ldc, c.alpha, c.beta, c.threads)
}

// run executes the case on random data and checks it against the float64
// reference, with NaN in C when beta is 0 (it must not be read).
func (c sgemmCase) run(t *testing.T, rng *rand.Rand) {
	t.Helper()
	ar, ac := c.m, c.k
	if c.transA {
		ar, ac = ac, ar
	}
	br, bc := c.k, c.n
	if c.transB {
		br, bc = bc, br
	}
	a := randMatrix(rng, ar, ac, c.lda)
	b := randMatrix(rng, br, bc, c.ldb)
	c0 := randMatrix(rng, c.m, c.n, max(c.n, 1))
	old := func(i, j int) float32 { return c0[i*max(c.n, 1)+j] }
	fill := old
	if c.beta == 0 {
		fill = func(i, j int) float32 { return float32(math.NaN()) }
	}
	g := kerneltest.Matrix(c.m, c.n, c.ldc, 0).Fill(fill)
	kernels.Sgemm(c.threads, c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, c.lda, b, c.ldb, c.beta, g.Data(), c.ldc)
	want, scale := refGemm(c.transA, c.transB, c.m, c.n, c.k, c.alpha, a, c.lda, b, c.ldb, c.beta, old)
	checkClose(t, c.String(), g, c.m, c.n, want, scale, c.k)
}

// randomCase draws leading dimensions, transposes, alpha, beta and threads
// for an m×n×k product.
func randomCase(rng *rand.Rand, m, n, k int) sgemmCase {
	c := sgemmCase{m: m, n: n, k: k, transA: rng.IntN(2) == 0, transB: rng.IntN(2) == 0}
	ld := func(cols int) int { return max(cols, 1) + []int{0, 0, 1, 3, 17}[rng.IntN(5)] }
	if c.transA {
		c.lda = ld(m)
	} else {
		c.lda = ld(k)
	}
	if c.transB {
		c.ldb = ld(k)
	} else {
		c.ldb = ld(n)
	}
	c.ldc = ld(n)
	c.alpha = []float32{1, 1, -0.5, 3}[rng.IntN(4)]
	c.beta = []float32{0, 0, 1, 0.25}[rng.IntN(4)]
	c.threads = kernels.Threads(1 + rng.IntN(3))
	return c
}

// TestSgemmEdges sweeps every row count up to two AVX-512 tiles (14 rows)
// plus one, against column counts covering every remainder of the 12-, 16-
// and 32-wide tiles, with K below, at and above the unroll and block sizes.
func TestSgemmEdges(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		ks := []int{1, 2, 3, 4, 5, 9, 31, 256, 257}
		for m := 0; m <= 29; m++ {
			for _, n := range []int{(m*7)%33 + 1, 47 - m, 64 + m} {
				k := ks[(m+n)%len(ks)]
				randomCase(rng, m, n, k).run(t, rng)
			}
		}
	})
}

// TestSgemmRandom runs random shapes: zeros, ones, primes and sizes around
// the tile and block sizes.
func TestSgemmRandom(t *testing.T) {
	sizes := []int{0, 1, 2, 7, 11, 13, 14, 15, 16, 17, 28, 31, 32, 33, 37, 61, 97, 113, 127}
	cases := 150
	if testing.Short() {
		cases = 40
	}
	kerneltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for i := 0; i < cases; i++ {
			m, n := sizes[rng.IntN(len(sizes))], sizes[rng.IntN(len(sizes))]
			k := []int{0, 1, 3, 64, 129, 300, 513}[rng.IntN(7)]
			randomCase(rng, m, n, k).run(t, rng)
		}
	})
}

// TestSgemmKBlocks covers K longer than one cache block (768 on x86, 512
// on arm64, 256 generic): later blocks accumulate onto C, after beta.
func TestSgemmKBlocks(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(15, 16))
		for _, beta := range []float32{0, 1, 0.5} {
			for _, th := range []kernels.Threads{1, 2} {
				c := randomCase(rng, 33, 50, 1700)
				c.beta, c.threads = beta, th
				c.run(t, rng)
			}
		}
	})
}

// TestSgemmNaNInf checks that NaN and ±Inf in A or B reach exactly the
// outputs they should (Inf·0 = NaN, Inf + finite = Inf).
func TestSgemmNaNInf(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, sp := range []struct {
			inA bool
			v   float32
		}{{true, float32(math.NaN())}, {false, float32(math.NaN())}, {true, float32(math.Inf(1))}, {false, float32(math.Inf(-1))}} {
			m, n, k := 19, 37, 23
			a := randMatrix(rng, m, k, k)
			b := randMatrix(rng, k, n, n)
			if sp.inA {
				a[5*k+7] = sp.v
				a[18*k+0] = sp.v
			} else {
				b[7*n+3] = sp.v
				b[22*n+36] = sp.v
			}
			b[7*n+20] = 0 // Inf·0 in row 5 column 20 when A holds the Inf
			g := kerneltest.Matrix(m, n, n, 0).Fill(func(i, j int) float32 { return float32(math.NaN()) })
			kernels.Sgemm(2, false, false, m, n, k, 1, a, k, b, n, 0, g.Data(), n)
			want, scale := refGemm(false, false, m, n, k, 1, a, k, b, n, 0, nil)
			checkClose(t, fmt.Sprintf("special %v in A=%v", sp.v, sp.inA), g, m, n, want, scale, k)
		}
	})
}

// TestSgemmThreadsBitIdentical checks that the thread count never changes
// a single bit, for shapes with several row blocks, column chunks, K blocks
// and edge tiles.
func TestSgemmThreadsBitIdentical(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(7, 8))
		shapes := [][3]int{{200, 100, 1600}, {45, 333, 70}, {3, 500, 257}}
		if testing.Short() {
			shapes[0] = [3]int{90, 70, 1100}
		}
		for _, s := range shapes {
			m, n, k := s[0], s[1], s[2]
			a := randMatrix(rng, m, k, k)
			b := randMatrix(rng, n, k, k)
			var first []float32
			for _, th := range []kernels.Threads{1, 2, 3, 7} {
				c := make([]float32, m*n)
				kernels.Sgemm(th, false, true, m, n, k, 1, a, k, b, k, 0, c, n)
				if first == nil {
					first = c
					continue
				}
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(first[i]) {
						t.Fatalf("%dx%dx%d: threads=%d differs from threads=1 at %d: %v vs %v", m, n, k, th, i, c[i], first[i])
					}
				}
			}
		}
	})
}

// TestSgemmBatched checks per-head products on heads interleaved in token
// matrices (Q·Kᵀ with strides), against separate Sgemm calls.
func TestSgemmBatched(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		const heads, tokens, dh = 5, 23, 16
		q := randMatrix(rng, tokens, heads*dh, heads*dh)
		kk := randMatrix(rng, tokens, heads*dh, heads*dh)
		for _, th := range []kernels.Threads{1, 2, 7} {
			got := make([]float32, heads*tokens*tokens)
			kernels.SgemmBatched(th, heads, false, true, tokens, tokens, dh, 0.25,
				q, heads*dh, dh, kk, heads*dh, dh, 0, got, tokens, tokens*tokens)
			for h := 0; h < heads; h++ {
				want := make([]float32, tokens*tokens)
				kernels.Sgemm(1, false, true, tokens, tokens, dh, 0.25, q[h*dh:], heads*dh, kk[h*dh:], heads*dh, 0, want, tokens)
				for i, w := range want {
					if math.Float32bits(got[h*tokens*tokens+i]) != math.Float32bits(w) {
						t.Fatalf("threads=%d head %d element %d: %v, want %v", th, h, i, got[h*tokens*tokens+i], w)
					}
				}
			}
		}
	})
}

// TestSgemmShapePanics checks that broken shape contracts panic with a
// message instead of touching memory.
func TestSgemmShapePanics(t *testing.T) {
	a := make([]float32, 12)
	for name, f := range map[string]func(){
		"short A": func() {
			kernels.Sgemm(1, false, false, 4, 4, 4, 1, a, 4, make([]float32, 16), 4, 0, make([]float32, 16), 4)
		},
		"small ld": func() { kernels.Sgemm(1, false, false, 2, 2, 4, 1, a, 3, a, 2, 0, a, 2) },
		"negative": func() { kernels.Sgemm(1, false, false, -1, 2, 2, 1, a, 2, a, 2, 0, a, 2) },
		"short C":  func() { kernels.Sgemm(1, false, false, 3, 3, 1, 1, a, 1, a, 3, 0, make([]float32, 8), 3) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}
