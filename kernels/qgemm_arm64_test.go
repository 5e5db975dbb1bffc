//go:build gc && !purego

package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// qGuardMark fills the bands around a kernel's output: a value the
// kernels never write there.
const qGuardMark = 0x5eadbeef

// qArm64Kernels are the arm64 int8 micro-kernels this CPU can run: the
// plain NEON one always, SDOT where the CPU has the dot product.
func qArm64Kernels() map[string]*qMicro {
	ks := map[string]*qMicro{"neon": &qNEON}
	if HasDotProd() {
		ks["sdot"] = &qSDOT
	}
	return ks
}

// TestQuantKernelArm64Choice: the NEON level picks SDOT exactly when the CPU
// has the dot product, the plain NEON kernel otherwise (under qemu
// -cpu cortex-a72 the latter), never the generic Go kernel.
func TestQuantKernelArm64Choice(t *testing.T) {
	restore, err := SetLevel(NEON)
	if err != nil {
		t.Skip(err)
	}
	defer restore()
	want, name := &qNEON, "neon (SMULL + SADALP)"
	if HasDotProd() {
		want, name = &qSDOT, "sdot"
	}
	t.Logf("HasDotProd() = %v: int8 kernel %s", HasDotProd(), name)
	if qLevel != want {
		t.Fatalf("NEON level with HasDotProd() = %v did not select the %s kernel", HasDotProd(), name)
	}
}

// TestQuantKernelArm64: each arm64 micro-kernel gives qKernelGo's exact int32
// sums for 0…40 groups of K, unaligned rows of A at odd strides, extreme
// values (127 × ±127 and −128, the int16 pair bound), writes only its
// 4×16 tile (guard bands on both sides stay untouched), and consumes only
// kg groups of A and B: the bytes past them are non-zero, so reading a
// group too many would change the sums.
func TestQuantKernelArm64(t *testing.T) {
	rng := rand.New(rand.NewPCG(81, 82))
	const mr, nr, band = 4, qPanel, 19
	for name, mk := range qArm64Kernels() {
		for kg := 0; kg <= 40; kg++ {
			for trial := 0; trial < 4; trial++ {
				lda := 4*kg + trial*3 + 1 // odd strides: rows start unaligned
				off := 1 + trial          // and so does row 0
				a := make([]uint8, off+mr*lda+8)
				b := make([]int8, kg*4*nr+64)
				for i := range a {
					a[i] = uint8(rng.IntN(128))
				}
				for i := range b {
					b[i] = int8(rng.IntN(256) - 128)
				}
				switch trial {
				case 2: // the largest pairs in magnitude, both signs
					for i := range a {
						a[i] = 127
					}
					for i := range b {
						b[i] = []int8{-128, 127, -127}[i/64%3]
					}
				case 3: // zero activations: the sums are 0
					for i := range a {
						a[i] = 0
					}
				}
				buf := make([]int32, band+mr*nr+band)
				for i := range buf {
					buf[i] = qGuardMark
				}
				want := make([]int32, mr*nr)
				qKernelGo(kg, &a[off], lda, &b[0], 0, &want[0])
				mk.kernel(kg, &a[off], lda, &b[0], 0, &buf[band])
				what := fmt.Sprintf("%s kg=%d lda=%d trial %d", name, kg, lda, trial)
				for i, v := range buf {
					if i < band || i >= band+mr*nr {
						if v != qGuardMark {
							t.Fatalf("%s: wrote %d outside its tile (buffer index %d)", what, v, i)
						}
						continue
					}
					if v != want[i-band] {
						t.Fatalf("%s: t[%d][%d] = %d, qKernelGo %d", what, (i-band)/nr, (i-band)%nr, v, want[i-band])
					}
				}
			}
		}
	}
}

// TestQGemmArm64KernelsThroughDriver runs GemmQuant with each arm64
// micro-kernel in place of the level's (so the plain NEON kernel is
// covered on CPUs with SDOT too): bit-identical to the generic level on
// M, N and K tails (K not a multiple of 4 included), with 1 and 3 threads,
// and nothing written outside C.
func TestQGemmArm64KernelsThroughDriver(t *testing.T) {
	restore, err := SetLevel(NEON)
	if err != nil {
		t.Skip(err)
	}
	defer restore()
	saved := qLevel
	defer func() { qLevel = saved }()
	rng := rand.New(rand.NewPCG(83, 84))
	for _, s := range [][3]int{{1, 1, 1}, {3, 17, 5}, {5, 16, 4}, {7, 33, 3}, {13, 65, 67}, {29, 130, 131}, {66, 70, 257}} {
		m, n, k := s[0], s[1], s[2]
		a := make([]float32, m*k)
		w := make([]float32, n*k)
		bias := make([]float32, n)
		for _, x := range [][]float32{a, w, bias} {
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
		}
		for p := 0; p < k; p++ { // a skewed row: a zero point
			a[p] = a[p]*2 + 3
		}
		qb := QuantizeB(true, k, n, w, k)
		qLevel = &qGeneric
		want := make([]float32, m*n)
		GemmQuant(1, m, a, k, qb, want, n, Epilogue{Bias: bias})
		for name, mk := range qArm64Kernels() {
			qLevel = mk
			for _, th := range []Threads{1, 3} {
				const band = 11
				ldc := n + 2
				buf := make([]float32, band+m*ldc+band)
				mark := math.Float32frombits(qGuardMark)
				for i := range buf {
					buf[i] = mark
				}
				GemmQuant(th, m, a, k, qb, buf[band:band+m*ldc], ldc, Epilogue{Bias: bias})
				what := fmt.Sprintf("%s %dx%dx%d threads=%d", name, m, n, k, th)
				for i, v := range buf {
					r, j := (i-band)/ldc, (i-band)%ldc
					if i < band || i >= band+m*ldc || j >= n {
						if math.Float32bits(v) != qGuardMark {
							t.Fatalf("%s: wrote %v outside C (buffer index %d)", what, v, i)
						}
						continue
					}
					if math.Float32bits(v) != math.Float32bits(want[r*n+j]) {
						t.Fatalf("%s: C[%d,%d] = %v, generic %v", what, r, j, v, want[r*n+j])
					}
				}
			}
		}
	}
}
