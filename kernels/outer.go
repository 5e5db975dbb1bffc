package kernels

import "fmt"

// OuterSum sets dst[i·len(b)+j] = a[i] + b[j] for i < len(a), j < len(b):
// a column plus a row, len(a) rows of len(b) values (how SAM's decomposed
// relative position bias builds a query's bias row from its height and
// width terms). dst must hold len(a)·len(b) values; only those are
// written.
func OuterSum(dst, a, b []float32) {
	n := len(a) * len(b)
	if len(dst) < n {
		panic(fmt.Sprintf("kernels: OuterSum: dst has %d values, want %d×%d", len(dst), len(a), len(b)))
	}
	if n == 0 {
		return
	}
	outerSumImpl(dst[:n], a, b)
}

// outerSumImpl is the level's OuterSum (len(dst) == len(a)·len(b) > 0).
var outerSumImpl = outerSumGeneric

func outerSumGeneric(dst, a, b []float32) {
	w := len(b)
	for i, v := range a {
		row := dst[i*w : (i+1)*w]
		for j := range row {
			row[j] = v + b[j]
		}
	}
}
