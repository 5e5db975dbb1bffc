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
// C = act(A·B + Bias) + Residual.
type Epilogue struct {
	Bias     []float32 // length N, added to every row; nil for none
	GELU     bool      // erf GELU after the bias
	Residual []float32 // M×N (row stride LDR) added last; may be C itself with LDR == ldc
	LDR      int
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices:
// op(A) is M×K (A is K×M with lda ≥ M when transA), op(B) is K×N (B is N×K
// when transB), C is M×N with row stride ldc. With beta == 0, C is not read
// (NaNs in it do not propagate).
func Sgemm(t Threads, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkMatrix("A", a, transA, m, k, lda)
	checkMatrix("B", b, transB, k, n, ldb)
	checkMatrix("C", c, false, m, n, ldc)
	sgemmGeneric(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmBatched runs batch independent Sgemm calls whose operands start
// strideA, strideB and strideC elements apart: per-head attention products
// (Q·Kᵀ, P·V) on heads that stay interleaved in their token matrices.
func SgemmBatched(t Threads, batch int, transA, transB bool, m, n, k int, alpha float32,
	a []float32, lda, strideA int, b []float32, ldb, strideB int, beta float32, c []float32, ldc, strideC int) {
	if batch < 0 {
		panic(fmt.Sprintf("kernels: SgemmBatched: negative batch %d", batch))
	}
	for i := 0; i < batch; i++ {
		Sgemm(t, transA, transB, m, n, k, alpha, a[i*strideA:], lda, b[i*strideB:], ldb, beta, c[i*strideC:], ldc)
	}
}

// PackedB is a right-hand operand (K×N, typically a weight matrix) packed
// once into the layout the micro-kernels read, reusable for any row count M
// and safe for concurrent use.
type PackedB struct {
	K, N int
	data []float32 // generic layout: K×N row-major
}

// PackB packs op(B) (K×N; B is N×K when transB, as PyTorch's Linear weight
// [out, in] is) for GemmPacked.
func PackB(transB bool, k, n int, b []float32, ldb int) *PackedB {
	checkMatrix("B", b, transB, k, n, ldb)
	p := &PackedB{K: k, N: n, data: make([]float32, k*n)}
	for kk := 0; kk < k; kk++ {
		for j := 0; j < n; j++ {
			if transB {
				p.data[kk*n+j] = b[j*ldb+kk]
			} else {
				p.data[kk*n+j] = b[kk*ldb+j]
			}
		}
	}
	return p
}

// GemmPacked computes C = act(A·B + bias) + residual for A (M×K, row stride
// lda) and a packed B, with the epilogue applied while each tile is hot.
func GemmPacked(t Threads, m int, a []float32, lda int, pb *PackedB, c []float32, ldc int, ep Epilogue) {
	checkMatrix("A", a, false, m, pb.K, lda)
	checkMatrix("C", c, false, m, pb.N, ldc)
	checkEpilogue(ep, m, pb.N)
	sgemmGeneric(false, false, m, pb.N, pb.K, 1, a, lda, pb.data, pb.N, 0, c, ldc)
	applyEpilogue(m, pb.N, c, ldc, ep)
}

func applyEpilogue(m, n int, c []float32, ldc int, ep Epilogue) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if ep.Bias != nil {
			for j := range row {
				row[j] += ep.Bias[j]
			}
		}
		if ep.GELU {
			GELU(row, row)
		}
		if ep.Residual != nil {
			r := ep.Residual[i*ep.LDR : i*ep.LDR+n]
			for j := range row {
				row[j] += r[j]
			}
		}
	}
}

func checkEpilogue(ep Epilogue, m, n int) {
	if ep.Bias != nil && len(ep.Bias) < n {
		panic(fmt.Sprintf("kernels: epilogue bias has %d values, need %d", len(ep.Bias), n))
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
	if need := (rows-1)*ld + cols; len(s) < need {
		panic(fmt.Sprintf("kernels: %s: %d elements, need %d for %d×%d with ld %d", name, len(s), need, rows, cols, ld))
	}
}

// sgemmGeneric is the pure-Go reference GEMM.
func sgemmGeneric(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else if beta != 1 {
			for j := range row {
				row[j] *= beta
			}
		}
		for p := 0; p < k; p++ {
			var av float32
			if transA {
				av = a[p*lda+i]
			} else {
				av = a[i*lda+p]
			}
			av *= alpha
			if transB {
				for j := range row {
					row[j] += av * b[j*ldb+p]
				}
			} else {
				br := b[p*ldb : p*ldb+n]
				for j := range row {
					row[j] += av * br[j]
				}
			}
		}
	}
}
