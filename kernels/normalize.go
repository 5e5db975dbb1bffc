package kernels

import (
	"fmt"
	"math"
)

// NormalizeSegments divides each seg-long segment of x by its L2 norm, or
// by eps where the norm is smaller (PyTorch's F.normalize(v, dim=-1, eps)
// on every segment: Swin V2's cosine attention on each head's q and k).
// A zero segment stays zero. The levels sum the squares in different
// orders, so they agree to rounding, not bit for bit.
func NormalizeSegments(x []float32, seg int, eps float32) {
	if seg <= 0 || len(x)%seg != 0 {
		panic(fmt.Sprintf("kernels: NormalizeSegments: %d values are not segments of %d", len(x), seg))
	}
	if len(x) == 0 {
		return
	}
	normalizeImpl(x, seg, eps)
}

// normalizeImpl is the level's NormalizeSegments (len(x) a positive
// multiple of seg).
var normalizeImpl = normalizeGeneric

func normalizeGeneric(x []float32, seg int, eps float32) {
	for lo := 0; lo < len(x); lo += seg {
		v := x[lo : lo+seg]
		var ss float32
		for _, a := range v {
			ss += a * a
		}
		n := max(float32(math.Sqrt(float64(ss))), eps)
		for i := range v {
			v[i] /= n
		}
	}
}
