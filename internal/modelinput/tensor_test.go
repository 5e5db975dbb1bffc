package modelinput

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestTensor: a batch of one is dropped, other shapes are refused, and so
// is any NaN or Inf, named by its index.
func TestTensor(t *testing.T) {
	v := make([]float32, 3*4*5)
	for _, shape := range [][]int{{3, 4, 5}, {1, 3, 4, 5}} {
		x, err := Tensor(v, shape)
		if err != nil || x.C != 3 || x.H != 4 || x.W != 5 || len(x.Pix) != len(v) {
			t.Errorf("shape %v: %d×%d×%d, %d values, %v", shape, x.C, x.H, x.W, len(x.Pix), err)
		}
	}
	for _, shape := range [][]int{{2, 3, 2, 5}, {60}, {3, 20}, {1, 1, 3, 4, 5}} {
		if _, err := Tensor(v, shape); err == nil || !strings.Contains(err.Error(), "C×H×W") {
			t.Errorf("shape %v: %v, want a refusal", shape, err)
		}
	}
	for i, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		w := append([]float32(nil), v...)
		w[17+i] = bad
		if _, err := Tensor(w, []int{3, 4, 5}); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("element %d of 60", 17+i)) {
			t.Errorf("%v at %d: %v", bad, 17+i, err)
		}
	}
}
