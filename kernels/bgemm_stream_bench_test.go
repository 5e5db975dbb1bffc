package kernels_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
)

// streamWeights are copies of one ViT-B weight, in float32 and bfloat16,
// enough of each (> 300 MB) that cycling through them streams the weights
// from memory on every call, as a model's forward pass does.
type streamWeights struct {
	f32 []*kernels.PackedB
	bf  []*kernels.BF16B
}

var streamCache = map[[2]int]*streamWeights{}

func streamFor(k, n int) *streamWeights {
	if s := streamCache[[2]int{k, n}]; s != nil {
		return s
	}
	rng := rand.New(rand.NewPCG(uint64(k), uint64(n)))
	w := randMatrix(rng, n, k, k)
	s := &streamWeights{}
	const total = 320 << 20
	for range total/(4*k*n) + 1 {
		s.f32 = append(s.f32, kernels.PackB(true, k, n, w, k))
	}
	for range total/(2*k*n) + 1 {
		s.bf = append(s.bf, kernels.NewBF16B(k, n, w, k))
	}
	streamCache[[2]int{k, n}] = s
	return s
}

// BenchmarkBF16Stream: one thread, ViT-B/16 shapes at 224² (M = 197),
// float32 GemmPacked against GemmBF16 (ANYRES_KERNELS picks the level);
// run with -count to alternate them. cpu-ms/op is process CPU time.
func BenchmarkBF16Stream(b *testing.B) {
	const m = 197
	for _, s := range [][2]int{{768, 768}, {768, 2304}, {768, 3072}, {3072, 768}} {
		k, n := s[0], s[1]
		ws := streamFor(k, n)
		a := randMatrix(rand.New(rand.NewPCG(1, 2)), m, k, k)
		c := make([]float32, m*n)
		bias := make([]float32, n)
		ep := kernels.Epilogue{Bias: bias}
		for _, mode := range []string{"f32", "bf16"} {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", m, n, k, mode), func(b *testing.B) {
				i := 0
				c0 := processCPU()
				for b.Loop() {
					if mode == "f32" {
						kernels.GemmPacked(1, m, a, k, ws.f32[i%len(ws.f32)], c, n, ep)
					} else {
						kernels.GemmBF16(1, m, a, k, ws.bf[i%len(ws.bf)], c, n, ep)
					}
					i++
				}
				cpu := processCPU() - c0
				b.ReportMetric(cpu*1e3/float64(b.N), "cpu-ms/op")
				b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/cpu/1e9, "GFLOP/s")
			})
		}
	}
}
