package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmDirectA checks the kernels that read A in place (kernelA) against
// the packed-A kernels of the same level: the same FMAs in the same order,
// so the same bits, at ragged M, N and K (every row-tile height, the
// unrolled loop's remainders, several K blocks), with lda > K and odd
// strides, on 1–3 threads, with and without a fused epilogue. A sits in a
// buffer whose bands before and after it and whose row padding hold NaN:
// a kernel that reads outside A's rows gets a NaN the packed path does not.
func TestGemmDirectA(t *testing.T) {
	for _, l := range Levels() {
		t.Run(l.String(), func(t *testing.T) {
			restore, err := SetLevel(l)
			if err != nil {
				t.Fatal(err)
			}
			defer restore()
			mk := gemmLevel
			if mk.kernelA == nil {
				t.Skipf("%v reads A packed only", l)
			}
			rng := rand.New(rand.NewPCG(23, 1))
			ms := []int{1, 2, 3, 5, 6, 7, 13, 14, 15, 17, 29, 33, 45}
			ks := []int{1, 2, 3, 4, 5, 7, 17, 770}
			if !testing.Short() {
				ms = append(ms, 197)
				ks = append(ks, 1700)
			}
			for i, m := range ms {
				for j, k := range ks {
					n := []int{1, 16, 31, 32, 33, 47, 80}[(i+j)%7]
					lda := k + []int{0, 1, 3, 17}[(i+2*j)%4]
					threads := 1 + (i+j)%3
					ep := Epilogue{}
					if (i+j)%2 == 0 {
						ep.Bias = randSlice(rng, n)
						ep.Residual, ep.LDR = randSlice(rng, m*n), n
					}
					checkDirectA(t, rng, mk, m, n, k, lda, threads, ep)
				}
			}
		})
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// checkDirectA runs one product with A in place and packed and compares
// the bits.
func checkDirectA(t *testing.T, rng *rand.Rand, mk *gemmMicro, m, n, k, lda, threads int, ep Epilogue) {
	t.Helper()
	const guard = 37
	nan := float32(math.NaN())
	alen := (m-1)*lda + k
	buf := make([]float32, guard+alen+guard)
	for i := range buf {
		buf[i] = nan
	}
	a := buf[guard : guard+alen : guard+alen]
	for r := 0; r < m; r++ {
		for p := 0; p < k; p++ {
			a[r*lda+p] = rng.Float32()*2 - 1
		}
	}
	pb := PackB(false, k, n, randSlice(rng, k*n), n)
	run := func(direct bool) []float32 {
		saved := mk.kernelA
		if !direct {
			mk.kernelA = nil
		}
		defer func() { mk.kernelA = saved }()
		c := make([]float32, m*n)
		GemmPacked(Threads(threads), m, a, lda, pb, c, n, ep)
		return c
	}
	want, got := run(false), run(true)
	what := fmt.Sprintf("m=%d n=%d k=%d lda=%d threads=%d bias=%v", m, n, k, lda, threads, ep.Bias != nil)
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: A in place differs from packed at (%d, %d): %v vs %v", what, i/n, i%n, got[i], want[i])
		}
	}
}

// TestL1SetRows pins the rule that sends A through packing when a row
// tile's rows share an L1 set: 14 rows 12 KiB apart (ViT-B's fc2 input)
// or 4 KiB apart (a 1024-wide A) all fall in one set, 6 or 14 rows 3 KiB
// apart (768 wide) spread over four, and strides off a multiple of the
// line spread over many.
func TestL1SetRows(t *testing.T) {
	for _, c := range []struct{ lda, mr, want int }{
		{3072, 14, 14}, {1024, 14, 14}, {4096, 14, 14}, {1536, 14, 7},
		{768, 14, 4}, {768, 6, 2}, {3072, 6, 6}, {3088, 14, 1}, {1, 14, 1},
	} {
		if got := l1SetRows(c.lda, c.mr); got != c.want {
			t.Errorf("l1SetRows(%d, %d) = %d, want %d", c.lda, c.mr, got, c.want)
		}
	}
	g := gemmCall{mk: &gemmMicro{mr: 14, kernelA: gemmLevel.kernelA}, alpha: 1, lda: 3072}
	if g.direct() {
		t.Error("a 14-row tile of a 3072-wide A reads A in place; want it packed")
	}
	if g.lda = 3088; g.mk.kernelA != nil && !g.direct() {
		t.Error("a 14-row tile of a 3088-wide A is packed; want it read in place")
	}
}

// TestGemmRowStride: the stride it gives keeps every level's row tile out
// of a single L1 set, and is the width itself where that already holds.
func TestGemmRowStride(t *testing.T) {
	for _, c := range []struct{ cols, want int }{{3072, 3088}, {1024, 1040}, {4096, 4112}, {768, 768}, {1536, 1536}, {384, 384}, {1, 1}} {
		if got := GemmRowStride(c.cols); got != c.want {
			t.Errorf("GemmRowStride(%d) = %d, want %d", c.cols, got, c.want)
		}
	}
	for cols := 1; cols <= 8192; cols++ {
		if ld := GemmRowStride(cols); ld < cols || l1SetRows(ld, 16) > l1Ways {
			t.Fatalf("GemmRowStride(%d) = %d: %d rows of a 16-row tile in one L1 set", cols, ld, l1SetRows(ld, 16))
		}
	}
}
