package bench

import (
	"testing"
	"time"

	"github.com/anyres/anyres/kernels"
)

// TestPeaks measures every selectable level's FMA peak: one positive
// figure per level, and a GEMM result gets its fraction of the active one.
func TestPeaks(t *testing.T) {
	rs, err := Peaks(5 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != len(kernels.Levels()) {
		t.Fatalf("%d results for %d levels", len(rs), len(kernels.Levels()))
	}
	for _, r := range rs {
		if g, _ := r.Fields["gflops"].(float64); g <= 0 {
			t.Errorf("%v: peak %v GFLOP/s", r.Fields["level"], r.Fields["gflops"])
		}
	}
	g := Gemm(GemmShape{M: 56, N: 256, K: 256}, GemmOptions{Threads: 1, Packed: true, MinTime: 20 * time.Millisecond})
	// Only that it is there and positive: both figures are timings, and a
	// bound on their ratio would fail on a busy machine.
	if f, _ := g.Fields["peak_frac"].(float64); f <= 0 {
		t.Errorf("GEMM at %v GFLOP/s: peak fraction %v", g.Fields["gflops"], g.Fields["peak_frac"])
	}
}
