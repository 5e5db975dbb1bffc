package kernels_test

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// Sizes whose products wrap an int exactly to 0 (on 64- and 32-bit
// platforms alike): a check that multiplies first sees a tiny requirement.
const (
	intBits  = strconv.IntSize
	quarter  = 1 << (intBits - 2)   // ·4 wraps to 0
	halfLow  = 1 << (intBits/2 - 1) // halfLow·halfHigh wraps to 0
	halfHigh = 1 << (intBits/2 + 1) //
	wrapBig  = math.MaxInt/3 + 1    // ·3 wraps negative
)

// expectPanic runs f and fails unless it panics with a message (a string)
// containing want: an index-out-of-range runtime error, or no panic, means
// the shape check let a wrapped product through.
func expectPanic(t *testing.T, name, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("%s: no panic", name)
			return
		}
		msg, ok := r.(string)
		if !ok || !strings.HasPrefix(msg, "kernels: ") || !strings.Contains(msg, want) {
			t.Errorf("%s: panic %v, want a kernels: message containing %q", name, r, want)
		}
	}()
	f()
}

// TestShapeChecksDoNotWrap hands every exported kernel sizes whose products
// overflow an int. Each must panic with its own message before the
// implementation runs, and write nothing around its (guarded) outputs.
// Before the overflow-safe checks, RopeRotate at the AVX levels wrote past
// x (a crash) and Sgemm wrapped into a runtime index panic.
func TestShapeChecksDoNotWrap(t *testing.T) {
	kerneltest.Run(t, func(t *testing.T) {
		x := kerneltest.Slice(8, 1)
		// tokens·headDim = 2^intBits wraps to 0 = len(sin); (tokens-1)·ld
		// + width wraps to 0 too.
		expectPanic(t, "RopeRotate tokens", "RopeRotate", func() {
			kernels.RopeRotate(x.Data(), 4, nil, nil, quarter, 1, 4)
		})
		// (5-1)·quarter wraps to 0.
		expectPanic(t, "RopeRotate stride", "RopeRotate", func() {
			kernels.RopeRotate(x.Data(), quarter, make([]float32, 10), make([]float32, 10), 5, 1, 2)
		})
		expectPanic(t, "RopeRotate width", "RopeRotate", func() {
			kernels.RopeRotate(x.Data(), 8, make([]float32, 8), make([]float32, 8), 1, quarter, 8)
		})
		x.Check(t, "RopeRotate x")

		// Sgemm: A is (halfHigh+1)×1 with lda halfLow: (m-1)·lda + 1 wraps
		// to 1, the length of a.
		c := kerneltest.Matrix(1, 1, 1, 3)
		one := []float32{1}
		expectPanic(t, "Sgemm A", "A:", func() {
			kernels.Sgemm(1, false, false, halfHigh+1, 1, 1, 1, one, halfLow, one, 1, 0, c.Data(), halfLow)
		})
		expectPanic(t, "Sgemm C", "C:", func() {
			// k = 0: A and B are empty, C is only scaled (by beta = 0).
			kernels.Sgemm(1, false, false, halfHigh+1, 1, 0, 1, nil, 1, nil, 1, 0, c.Data(), halfLow)
		})
		expectPanic(t, "Sgemm B transposed", "B:", func() {
			kernels.Sgemm(1, false, true, 0, halfHigh+1, 1, 1, nil, 1, one, halfLow, 0, nil, halfHigh+1)
		})
		// K and N of a PackedB are exported: a changed K would have the
		// micro-kernels read past the packed data.
		pb := kernels.PackB(false, 1, 1, one, 1)
		pb.K = 40
		expectPanic(t, "GemmPacked K", "PackedB", func() {
			kernels.GemmPacked(1, 1, make([]float32, 40), 40, pb, c.Data(), 1, kernels.Epilogue{})
		})
		expectPanic(t, "GemmPacked zero PackedB", "PackedB", func() {
			kernels.GemmPacked(1, 1, make([]float32, 40), 40, &kernels.PackedB{K: 40, N: 1}, c.Data(), 1, kernels.Epilogue{})
		})
		expectPanic(t, "GemmPacked C", "C:", func() {
			kernels.GemmPacked(1, halfHigh+1, nil, 1, kernels.PackB(false, 0, 1, nil, 1), c.Data(), halfLow, kernels.Epilogue{})
		})
		c.Check(t, "Sgemm C")

		// DWConv3x3: h·w·c wraps to 0 for empty slices.
		expectPanic(t, "DWConv3x3", "DWConv3x3", func() {
			kernels.DWConv3x3(nil, make([]float32, 0), nil, nil, halfLow, halfHigh, 0+1, false)
		})
		expectPanic(t, "DWConv3x3 channels", "DWConv3x3", func() {
			kernels.DWConv3x3(nil, nil, make([]float32, 9*3), make([]float32, 3), 0, 0, wrapBig, false)
		})

		// Relative bias: n² wraps.
		expectPanic(t, "NewRelIndex", "NewRelIndex", func() {
			kernels.NewRelIndex(nil, 1<<(intBits/2), 1)
		})
		scores := kerneltest.Slice(4, 2)
		expectPanic(t, "RelBiasAddWindow", "RelBiasAddWindow", func() {
			kernels.RelBiasAddWindow(scores.Data(), math.MaxInt/2+1, make([]float32, 9), kernels.NewRelWindow(2, 2), 0, 3)
		})
		scores.Check(t, "RelBiasAddWindow scores")

		// Resample: channels whose product with the grid wraps.
		th, tw := kernels.InterpTaps(2, 2, kernels.InterpBilinear, false, false), kernels.InterpTaps(2, 3, kernels.InterpBilinear, false, false)
		expectPanic(t, "Resample", "Resample", func() {
			kernels.Resample(1, make([]float32, 8), make([]float32, 8), quarter, th, tw)
		})
		expectPanic(t, "MatrixTaps", "MatrixTaps", func() {
			kernels.MatrixTaps(quarter, 4, nil)
		})
	})
}

// TestShapeChecksAcceptExactFit checks the checks at the edge: the largest shapes
// that fit are accepted (a check that is too strict would break real calls).
func TestShapeChecksAcceptExactFit(t *testing.T) {
	// 3 rows of 2 at stride 5 need exactly (3-1)·5 + 2 = 12 values.
	a := make([]float32, 12)
	b := []float32{1, 1}
	c := make([]float32, 3)
	kernels.Sgemm(1, false, false, 3, 1, 2, 1, a, 5, b, 1, 0, c, 1)
	expectPanic(t, "one short", "need 12", func() {
		kernels.Sgemm(1, false, false, 3, 1, 2, 1, a[:11], 5, b, 1, 0, c, 1)
	})
	x := make([]float32, 2*6+4)
	kernels.RopeRotate(x, 6, make([]float32, 6), make([]float32, 6), 3, 2, 2)
	expectPanic(t, "rope one short", fmt.Sprint(len(x)), func() {
		kernels.RopeRotate(x[:len(x)-1], 6, make([]float32, 6), make([]float32, 6), 3, 2, 2)
	})
}

// TestShapeChecksDoNotAllocate: the overflow-safe checks run on every call
// of a warm forward pass, which must not allocate (a variadic size list
// that escaped into the panic message once cost 8 allocations a forward).
func TestShapeChecksDoNotAllocate(t *testing.T) {
	if testing.Short() {
		t.Skip("AllocsPerRun is slow under the race detector and emulators")
	}
	// (Resample is left out: its tap offsets are allocated per call.)
	x, sc := make([]float32, 2*8), make([]float32, 2*4)
	h, w, c := 2, 3, 4
	dst, padded := make([]float32, h*w*c), make([]float32, (h+2)*(w+2)*c)
	wt, bias := make([]float32, 9*c), make([]float32, c)
	for name, f := range map[string]func(){
		"RopeRotate": func() { kernels.RopeRotate(x, 8, sc, sc, 2, 2, 4) },
		"DWConv3x3":  func() { kernels.DWConv3x3(dst, padded, wt, bias, h, w, c, false) },
	} {
		if n := testing.AllocsPerRun(10, f); n != 0 {
			t.Errorf("%s: %v allocations per call", name, n)
		}
	}
}
