//go:build gc && !purego

package kernels

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestDequantAB times the dequantise kernels alone, AVX2 against AVX-512,
// alternating in one process in the calling thread's CPU time, over the
// 197 rows of a ViT-B/16 224² product, 128 wide (one AMX block of
// columns) and 768 wide, bias only and bias + residual in place. It logs
// medians and quartiles of AVX2/AVX-512. Opt-in:
//
//	ANYRES_CPUTIME=1 go test ./kernels -run DequantAB -v
func TestDequantAB(t *testing.T) {
	if os.Getenv("ANYRES_CPUTIME") == "" {
		t.Skip("set ANYRES_CPUTIME=1")
	}
	if CheckLevel(AVX512) != nil {
		t.Skip("no AVX-512")
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tcpu := func() time.Duration {
		var ts unix.Timespec
		if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
			return 0
		}
		return time.Duration(ts.Nano())
	}
	const rows, rounds = 197, 31
	kernels := []func(dst []float32, acc []int32, zero int32, colSum []int32, sa float32, sw []float32, bias, res []float32){dequantAVX2, dequantAVX512}
	for _, n := range []int{128, 768} {
		acc, colSum := make([]int32, rows*n), make([]int32, n)
		sw, bias, dst := make([]float32, n), make([]float32, n), make([]float32, rows*n)
		for i := range acc {
			acc[i] = int32(i * 7919)
		}
		for i := range sw {
			colSum[i], sw[i], bias[i] = int32(i), 1e-3, 0.5
		}
		for _, resid := range []bool{false, true} {
			var r []float64
			for round := range rounds {
				var d [2]time.Duration
				for i := range 2 {
					i := (i + round) % 2
					t0 := tcpu()
					for range 20 {
						for row := range rows {
							out := dst[row*n : row*n+n]
							var res []float32
							if resid {
								res = out
							}
							kernels[i](out, acc[row*n:row*n+n], 3, colSum, 0.01, sw, bias, res)
						}
					}
					d[i] = tcpu() - t0
				}
				r = append(r, float64(d[0])/float64(d[1]))
			}
			slices.Sort(r)
			t.Log(fmt.Sprintf("%d rows × %d, residual %v: AVX2/AVX-512 median %.3f, quartiles %.3f–%.3f", rows, n, resid, r[rounds/2], r[rounds/4], r[3*rounds/4]))
		}
	}
}
