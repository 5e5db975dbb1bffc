package kernels

import (
	"testing"
	"time"
)

// TestFMALoop runs every level's FMA loop: it must count whole iterations
// (flops proportional to iters, at least 16 per iteration: 8 scalar chains),
// do nothing for iters ≤ 0, and refuse a level this build or CPU lacks.
func TestFMALoop(t *testing.T) {
	for _, l := range Levels() {
		one, err := FMALoop(l, 1)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		if one < 16 {
			t.Errorf("%s: %d flops per iteration, want ≥ 16", l, one)
		}
		const iters = 1 << 20
		start := time.Now()
		n, err := FMALoop(l, iters)
		el := time.Since(start)
		if err != nil || n != iters*one {
			t.Errorf("%s: %d iterations gave %d flops (%v), want %d", l, iters, n, err, iters*one)
		}
		if z, err := FMALoop(l, 0); z != 0 || err != nil {
			t.Errorf("%s: 0 iterations gave %d flops (%v)", l, z, err)
		}
		t.Logf("%s: %.1f GFLOP/s", l, float64(n)/el.Seconds()/1e9)
	}
	for _, l := range []Level{AVX2, AVX512, NEON, AMX} {
		if CheckLevel(l) != nil {
			if _, err := FMALoop(l, 1); err == nil {
				t.Errorf("%s: ran on a build or CPU without it", l)
			}
		}
	}
}
