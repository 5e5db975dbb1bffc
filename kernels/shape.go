package kernels

import (
	"fmt"
	"math/bits"
)

// Shape checks that cannot wrap. A product of sizes handed in by a caller
// (rows·ld, tokens·headDim) can exceed the int range and wrap to a small or
// negative number that passes a plain `len(s) < need` test, after which the
// assembly writes past the slice. Every exported kernel checks its shapes
// through these helpers instead of multiplying first.

// mulSize returns a·b for non-negative a and b, or ok = false when either is
// negative or the product does not fit in an int.
func mulSize(a, b int) (p int, ok bool) {
	if a < 0 || b < 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi != 0 || lo > uint64(maxInt) {
		return 0, false
	}
	return int(lo), true
}

const maxInt = int(^uint(0) >> 1)

// holdsRows reports whether n values hold rows rows of cols values, row r
// starting at r·ld (ld ≥ cols), that is (rows-1)·ld + cols ≤ n, computed by
// division so that no product is formed. Sizes must be non-negative.
func holdsRows(n, rows, cols, ld int) bool {
	if rows == 0 || cols == 0 {
		return true
	}
	if cols > n || ld < cols {
		return false
	}
	// (rows-1)·ld ≤ n-cols  ⟺  rows-1 ≤ ⌊(n-cols)/ld⌋ for ld > 0.
	return rows-1 <= (n-cols)/ld
}

// checkProduct returns the product of dims, panicking with a message naming
// the kernel when a size is negative or the product overflows an int.
// dims must not escape (the message is made from a copy): the variadic
// slice then stays on the stack and the check allocates nothing, which
// keeps a warm forward pass allocation-free.
func checkProduct(kernel string, dims ...int) int {
	p := 1
	for _, d := range dims {
		q, ok := mulSize(p, d)
		if !ok {
			panicOverflow(kernel, dims)
		}
		p = q
	}
	return p
}

func panicOverflow(kernel string, dims []int) {
	d := append([]int(nil), dims...)
	panic(fmt.Sprintf("kernels: %s: size %v is negative or overflows int", kernel, d))
}

// needRows is the (rows-1)·ld + cols that holdsRows checks, for messages;
// it saturates instead of wrapping.
func needRows(rows, cols, ld int) string {
	if rows == 0 || cols == 0 {
		return "0"
	}
	p, ok := mulSize(rows-1, ld)
	if !ok || p > maxInt-cols {
		return fmt.Sprintf("(%d-1)·%d + %d (more than an int holds)", rows, ld, cols)
	}
	return fmt.Sprint(p + cols)
}

// sameProduct reports whether n == a·b, without forming a product that
// could wrap (a, b ≥ 0).
func sameProduct(n, a, b int) bool {
	p, ok := mulSize(a, b)
	return ok && p == n
}
