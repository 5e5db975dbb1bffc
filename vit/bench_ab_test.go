//go:build anyres_ab && linux

package vit

import (
	"fmt"
	"os"
	"runtime"
	"slices"
	"syscall"
	"testing"
	"unsafe"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
)

// threadCPU is the calling OS thread's CPU time in seconds (a one-thread
// forward runs on the caller's thread).
func threadCPU() float64 {
	var ts syscall.Timespec
	const clockThreadCPUTimeID = 3
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0)
	return float64(ts.Sec) + float64(ts.Nsec)/1e9
}

// BenchmarkViTB16DirectA compares one-thread ViT-B/16 forwards with the
// GEMM reading A in place (new) and packing it (old), alternating forward
// by forward in one process; it reports the median and quartiles of the
// per-pair thread-CPU speed ratio new/old:
//
//	go test -tags anyres_ab ./vit -run - -bench ViTB16DirectA -benchtime 20x
func BenchmarkViTB16DirectA(b *testing.B) {
	defer kernels.SetGemmDirectA(true)
	for _, s := range [][2]int{{224, 224}, {384, 384}} {
		b.Run(fmt.Sprintf("%dx%d", s[0], s[1]), func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			m := b16(b, 1)
			img := benchImage(s[0], s[1])
			var out Output
			fwd := func(on bool) float64 {
				kernels.SetGemmDirectA(on)
				t0 := threadCPU()
				if err := m.Forward(img, &out); err != nil {
					b.Fatal(err)
				}
				return threadCPU() - t0
			}
			fwd(false)
			fwd(true)
			var ratio, old, cur []float64
			for i := 0; b.Loop(); i++ {
				var o, n float64
				if i%2 == 0 {
					o, n = fwd(false), fwd(true)
				} else {
					n, o = fwd(true), fwd(false)
				}
				old, cur, ratio = append(old, o), append(cur, n), append(ratio, o/n)
			}
			q := func(x []float64, f float64) float64 {
				x = slices.Clone(x)
				slices.Sort(x)
				return x[int(f*float64(len(x)-1))]
			}
			b.ReportMetric(1e3*q(old, 0.5), "old-cpu-ms")
			b.ReportMetric(1e3*q(cur, 0.5), "new-cpu-ms")
			b.ReportMetric(q(ratio, 0.25), "ratio-q1")
			b.ReportMetric(q(ratio, 0.5), "ratio")
			b.ReportMetric(q(ratio, 0.75), "ratio-q3")
		})
	}
}

// BenchmarkViTB16BF16Prefetch runs one-thread ViT-B/16 forwards in
// float32, in bf16 with the raw weight panels prefetched one tile column
// ahead (old) and ANYRES_AB_AHEAD columns ahead (new, default 2),
// alternating the three forward by forward in one process; it reports
// the median thread-CPU milliseconds of each, the quartiles of the
// per-round ratio old/new, and bf16 against float32 (f32 time / bf16
// time) for both settings:
//
//	ANYRES_KERNELS=avx512 go test -tags anyres_ab ./vit -run - -bench ViTB16BF16Prefetch -benchtime 20x
func BenchmarkViTB16BF16Prefetch(b *testing.B) {
	saved := kernels.BF16PrefetchAhead()
	defer kernels.SetBF16PrefetchAhead(saved)
	ahead := 2
	if _, err := fmt.Sscan(os.Getenv("ANYRES_AB_AHEAD"), &ahead); err != nil || ahead < 0 {
		ahead = 2
	}
	cfg := ViTB16()
	cfg.DynamicImgPad = true
	f32 := b16(b, 1)
	bf, err := New(cfg, RandomWeights(cfg, 1), Options{Threads: 1, Precision: nn.Precision{DType: nn.BF16}})
	if err != nil {
		b.Fatal(err)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	img := benchImage(224, 224)
	var out Output
	fwd := func(m *Model, d int) float64 {
		kernels.SetBF16PrefetchAhead(d)
		t0 := threadCPU()
		if err := m.Forward(img, &out); err != nil {
			b.Fatal(err)
		}
		return threadCPU() - t0
	}
	fwd(f32, 1)
	fwd(bf, 1)
	fwd(bf, ahead)
	var tf, to, tn, ratio, vsOld, vsNew []float64
	for i := 0; b.Loop(); i++ {
		var f, o, n float64
		switch i % 3 {
		case 0:
			f, o, n = fwd(f32, 1), fwd(bf, 1), fwd(bf, ahead)
		case 1:
			o, n, f = fwd(bf, 1), fwd(bf, ahead), fwd(f32, 1)
		default:
			n, f, o = fwd(bf, ahead), fwd(f32, 1), fwd(bf, 1)
		}
		tf, to, tn = append(tf, f), append(to, o), append(tn, n)
		ratio, vsOld, vsNew = append(ratio, o/n), append(vsOld, f/o), append(vsNew, f/n)
	}
	q := func(x []float64, f float64) float64 {
		x = slices.Clone(x)
		slices.Sort(x)
		return x[int(f*float64(len(x)-1))]
	}
	b.ReportMetric(1e3*q(tf, 0.5), "f32-cpu-ms")
	b.ReportMetric(1e3*q(to, 0.5), "old-cpu-ms")
	b.ReportMetric(1e3*q(tn, 0.5), "new-cpu-ms")
	b.ReportMetric(q(ratio, 0.25), "ratio-q1")
	b.ReportMetric(q(ratio, 0.5), "ratio")
	b.ReportMetric(q(ratio, 0.75), "ratio-q3")
	b.ReportMetric(q(vsOld, 0.5), "old-vs-f32")
	b.ReportMetric(q(vsNew, 0.5), "new-vs-f32")
}
