package kernels

import (
	"fmt"
	"runtime"
)

// Threads is the number of goroutines a kernel call may use; 0 (or less)
// means runtime.GOMAXPROCS(0). Results never depend on it: work is split
// over rows and columns of the output, never over the reduction.
type Threads int

// n returns the effective thread count.
func (t Threads) n() int {
	if t <= 0 {
		return runtime.GOMAXPROCS(0)
	}
	return int(t)
}

// Epilogue is work applied to a GEMM's output tile before it is stored:
// C = act(A·B + Bias) + Residual. (LayerScale needs no field: a model
// folds its γ into the weights and bias of the layer before it.)
type Epilogue struct {
	Bias     []float32  // length N, added to every row; nil for none
	Act      Activation // applied after the bias
	Residual []float32  // M×N (row stride LDR) added last; may be C itself with LDR == ldc
	LDR      int        // Residual's row stride
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices:
// op(A) is M×K (A is K×M with lda ≥ M when transA), op(B) is K×N (B is N×K
// when transB), C is M×N with row stride ldc. With beta == 0, C is not read
// (NaNs in it do not propagate).
func Sgemm(t Threads, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkMatrix("A", a, transA, m, k, lda)
	checkMatrix("B", b, transB, k, n, ldb)
	checkMatrix("C", c, false, m, n, ldc)
	if m == 0 || n == 0 {
		return
	}
	mk := gemmLevel
	lz := newLazyB(transB, k, n, b, ldb, kBlock(mk, k))
	gemmRun(&gemmCall{
		mk: mk, threads: t.n(), m: m, n: n, k: k,
		a: a, lda: lda, transA: transA, alpha: alpha,
		pb: &lz.pb, lazy: lz, c: c, ldc: ldc, beta: beta,
	})
	lz.release()
}

// SgemmBatched runs batch independent Sgemm calls whose operands start
// strideA, strideB and strideC elements apart: per-head attention products
// (Q·Kᵀ, P·V) on heads that stay interleaved in their token matrices.
// With at least as many products as threads, each thread takes whole
// products; the result is the same either way.
func SgemmBatched(t Threads, batch int, transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda, strideA int, b []float32, ldb, strideB int, beta float32, c []float32, ldc, strideC int) {
	if batch < 0 {
		panic(fmt.Sprintf("kernels: SgemmBatched: negative batch %d", batch))
	}
	if batch == 0 {
		return
	}
	// Check every operand before any work starts, so a bad stride panics
	// on the calling goroutine.
	for i := 0; i < batch; i++ {
		checkMatrix("A", tail(a, batchOffset(i, strideA)), transA, m, k, lda)
		checkMatrix("B", tail(b, batchOffset(i, strideB)), transB, k, n, ldb)
		checkMatrix("C", tail(c, batchOffset(i, strideC)), false, m, n, ldc)
	}
	nt := t.n()
	if nt <= 1 || batch < nt {
		for i := 0; i < batch; i++ {
			Sgemm(t, transA, transB, m, n, k, alpha, tail(a, i*strideA), lda, tail(b, i*strideB), ldb, beta, tail(c, i*strideC), ldc)
		}
		return
	}
	parallelFor(nt, batch, func(i int) {
		Sgemm(1, transA, transB, m, n, k, alpha, tail(a, i*strideA), lda, tail(b, i*strideB), ldb, beta, tail(c, i*strideC), ldc)
	})
}

// batchOffset is i·stride, the start of product i of a batch, checked so
// that a huge stride cannot wrap into an offset inside the slice.
func batchOffset(i, stride int) int {
	off, ok := mulSize(i, stride)
	if !ok {
		panic(fmt.Sprintf("kernels: SgemmBatched: offset %d·%d of product %d is negative or overflows int", i, stride, i))
	}
	return off
}

// tail returns s[off:], or an empty slice when off is past its end (an
// empty operand of a zero-sized product may start anywhere).
func tail(s []float32, off int) []float32 {
	if off < 0 {
		panic(fmt.Sprintf("kernels: SgemmBatched: negative offset %d", off))
	}
	if off >= len(s) {
		return nil
	}
	return s[off:]
}

// GemmPacked computes C = act(A·B + bias) + residual for A (M×K, row stride
// lda) and a packed B, with the epilogue applied to each output tile right
// after its last block of K, while the tile is still in cache.
func GemmPacked(t Threads, m int, a []float32, lda int, pb *PackedB, c []float32, ldc int, ep Epilogue) {
	checkPacked(pb)
	checkMatrix("A", a, false, m, pb.K, lda)
	checkMatrix("C", c, false, m, pb.N, ldc)
	checkEpilogue(ep, m, pb.N)
	if m == 0 || pb.N == 0 {
		return
	}
	gemmPacked(t, m, a, lda, pb, nil, c, ldc, ep)
}

// gemmPacked is GemmPacked after the checks; with bf set, pb is only B's
// shape and the panels come from bf (GemmBF16).
func gemmPacked(t Threads, m int, a []float32, lda int, pb *PackedB, bf *BF16B, c []float32, ldc int, ep Epilogue) {
	call := &gemmCall{
		mk: gemmLevel, threads: t.n(), m: m, n: pb.N, k: pb.K,
		a: a, lda: lda, alpha: 1,
		pb: pb, bf: bf, c: c, ldc: ldc, ep: ep,
	}
	if ep.Residual != nil && overlaps(ep.Residual, c) {
		if sameMatrix(ep.Residual, ep.LDR, c, ldc) && ep.Act == ActNone {
			// C already holds the residual: accumulate onto it.
			call.beta = 1
			call.ep.Residual = nil
		} else {
			// The residual would be overwritten before it is added: keep
			// a copy (rare: an activation with an in-place residual, or a
			// partial overlap).
			call.ep.Residual = copyMatrix(ep.Residual, m, pb.N, ep.LDR)
			call.ep.LDR = pb.N
		}
	}
	gemmRun(call)
}

func checkEpilogue(ep Epilogue, m, n int) {
	if ep.Bias != nil && len(ep.Bias) < n {
		panic(fmt.Sprintf("kernels: epilogue bias has %d values, need %d", len(ep.Bias), n))
	}
	if ep.Act < ActNone || ep.Act > ActSiLU {
		panic(fmt.Sprintf("kernels: epilogue activation %d unknown", int(ep.Act)))
	}
	if ep.Residual != nil {
		checkMatrix("Residual", ep.Residual, false, m, n, ep.LDR)
	}
}

// checkMatrix panics unless s holds a rows×cols matrix (stored transposed
// when trans) with leading dimension ld.
func checkMatrix(name string, s []float32, trans bool, rows, cols, ld int) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("kernels: %s: negative size %d×%d", name, rows, cols))
	}
	if trans {
		rows, cols = cols, rows
	}
	if rows == 0 || cols == 0 {
		return
	}
	if ld < cols {
		panic(fmt.Sprintf("kernels: %s: leading dimension %d < %d columns", name, ld, cols))
	}
	if !holdsRows(len(s), rows, cols, ld) {
		panic(fmt.Sprintf("kernels: %s: %d elements, need %s for %d×%d with ld %d", name, len(s), needRows(rows, cols, ld), rows, cols, ld))
	}
}

// GemmRowTile is the register tile height of the float32 GEMM at the active
// level: a product whose rows are a multiple of it runs no partial tiles,
// so callers that cut rows into work items cut at its multiples.
func GemmRowTile() int { return gemmLevel.mr }

// GemmQuantRowTile is GemmRowTile for GemmQuant at the active level (the
// int8 kernel's rows: 6 with VNNI, 16 on AMX tiles, 4 elsewhere).
func GemmQuantRowTile() int { return qLevel.mr }

// GemmBF16RowTile is GemmRowTile for GemmBF16 at the active level: the
// float32 kernel's where it widens the weights onto them, else the
// bfloat16 kernel's (6 with VDPBF16PS, 16 on AMX tiles).
func GemmBF16RowTile() int {
	if bLevel != nil {
		return bLevel.mr
	}
	return gemmLevel.mr
}

// GemmRowStride is the row stride (≥ cols, in floats) to give a matrix
// of cols columns that a float32 GEMM will read as A: cols itself unless
// the rows of a register tile could then crowd one L1 set (cols·4 a
// multiple of 4 KiB, as ViT-B's 3072-wide MLP hidden layer), where the
// GEMM packs A rather than read it in place; then cols plus a line. It
// depends on cols alone, not on the kernel level, so buffers sized with it
// stay valid when the level changes.
func GemmRowStride(cols int) int {
	const tallestTile = 16 // rows of any level's register tile, rounded up
	if l1SetRows(cols, tallestTile) <= l1Ways {
		return cols
	}
	return cols + 16
}

// GemmBF16RoundsActivations reports whether GemmBF16 at the active level
// rounds A to bfloat16 too (the amx level, and AVX512-BF16 on the CPUs
// where VDPBF16PS is the faster path), rather than widening the weights
// onto the float32 kernels, whose results are then the bits of GemmPacked
// on the widened weights.
func GemmBF16RoundsActivations() bool { return bLevel != nil }

// GemmBF16RowBlock is how many rows GemmBF16 takes as one row block at the
// active level where it widens bfloat16 weights onto the float32 kernels:
// each row block widens every panel of B again, so callers that cut rows
// into calls widen least with calls of up to this many rows. 0 where the
// level multiplies bfloat16 directly (AMX, VDPBF16PS) and row blocks
// widen nothing.
func GemmBF16RowBlock() int {
	if bLevel != nil {
		return 0
	}
	return bf16RowBlock(gemmLevel)
}
