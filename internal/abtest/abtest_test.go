package abtest

import "testing"

func TestQuantile(t *testing.T) {
	x := []float64{5, 1, 4, 2, 3}
	for p, want := range map[float64]float64{0: 1, 0.25: 2, 0.5: 3, 0.75: 4, 1: 5} {
		if got := Quantile(x, p); got != want {
			t.Errorf("Quantile(%v) = %v, want %v", p, got, want)
		}
	}
	if x[0] != 5 || x[4] != 3 {
		t.Errorf("x reordered: %v", x)
	}
}
