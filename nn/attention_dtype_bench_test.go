//go:build linux || darwin

package nn_test

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/vit"
)

// BenchmarkAttentionDTypes measures what low-precision attention gives
// ViT-B/16 (random weights, one thread): float32, then int8 and bf16 each
// with their attention in low precision (bfloat16 at amx; int8 for int8
// models at avx512 with VNNI and at avx2) and in float32, run forward by
// forward in turn so that all see the same load (where a format's
// attention stays float32 either way, only its one variant). It reports
// each variant's process-CPU milliseconds per forward (the work done, not
// the time waited for a core on a shared machine), the speed-ups over
// float32 in CPU time, and the features cosine to float32. Sizes default to 224 and 1024:
//
//	ANYRES_BENCH_SIZES=224,1024 go test -run - -bench AttentionDTypes -benchtime 3x ./nn
func BenchmarkAttentionDTypes(b *testing.B) {
	sizes := []int{224, 1024}
	if s := os.Getenv("ANYRES_BENCH_SIZES"); s != "" {
		sizes = sizes[:0]
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < 16 {
				b.Fatalf("ANYRES_BENCH_SIZES: %q is not a size", f)
			}
			sizes = append(sizes, n)
		}
	}
	cfg := vit.ViTB16()
	cfg.NumClasses = 0
	cfg.DynamicImgPad = true
	src := vit.RandomWeights(cfg, 1)
	type variant struct {
		name    string
		dt      string
		lowAttn bool
	}
	vs := []variant{{"f32", nn.F32, false}, {"int8", nn.Int8, true}, {"int8-f32attn", nn.Int8, false}, {"bf16", nn.BF16, true}, {"bf16-f32attn", nn.BF16, false}}
	switch {
	case !kernels.AttentionLowPrecision() && !kernels.AttentionInt8():
		// Attention is float32 at this level whatever the format.
		vs = []variant{vs[0], vs[1], vs[3]}
	case !kernels.AttentionLowPrecision():
		// int8 attention for int8 models only (avx512 with VNNI, avx2).
		vs = vs[:4]
	}
	models := map[string]*vit.Model{}
	for _, v := range vs {
		if models[v.dt] == nil {
			m, err := vit.New(cfg, src, vit.Options{Precision: nn.Precision{DType: v.dt}})
			if err != nil {
				b.Fatal(err)
			}
			models[v.dt] = m.WithThreads(1).(*vit.Model)
		}
	}
	run := func(v variant, img nn.Image, out *nn.Output) time.Duration {
		defer nn.SetLowAttentionOff(!v.lowAttn)()
		c0 := cpuTime()
		if err := models[v.dt].Forward(img, out); err != nil {
			b.Fatal(err)
		}
		return cpuTime() - c0
	}
	for _, s := range sizes {
		b.Run(fmt.Sprintf("%dx%d", s, s), func(b *testing.B) {
			img := noise(1, s, 7)[0]
			outs := make([]nn.Output, len(vs))
			for j, v := range vs { // warm-up, and the features compared
				run(v, img, &outs[j])
			}
			cpu := make([][]time.Duration, len(vs))
			for b.Loop() {
				for j, v := range vs {
					cpu[j] = append(cpu[j], run(v, img, &outs[j]))
				}
			}
			med := make([]float64, len(vs))
			for j, v := range vs {
				slices.Sort(cpu[j])
				med[j] = cpu[j][len(cpu[j])/2].Seconds() * 1e3
				b.ReportMetric(med[j], v.name+"-cpu-ms")
				if j > 0 {
					b.ReportMetric(med[0]/med[j], v.name+"-speedup")
					b.ReportMetric(cosine(outs[0].Tokens, outs[j].Tokens), v.name+"-cos")
				}
			}
		})
	}
}

// cpuTime is the CPU time of the whole process (all threads).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
