package kernels_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/anyres/anyres/kernels"
)

// BenchmarkBF16Block: one thread, the four products of a ViT-B/16 block
// at 224² (M = 197) with the model's epilogues (qkv + bias, proj + bias +
// residual, fc1 + bias + GELU, fc2 + bias + residual) on weights streamed
// from memory, float32 and bfloat16 alternating block by block so both
// see the same load; it reports the median process-CPU milliseconds of
// each and bf16-vs-f32 (f32 time / bf16 time, > 1 when bf16 is faster).
//
//	ANYRES_KERNELS=avx512 go test ./kernels -run - -bench BF16Block -benchtime 60x
func BenchmarkBF16Block(b *testing.B) {
	const m, d, hid = 197, 768, 3072
	shapes := [][2]int{{d, 3 * d}, {d, d}, {d, hid}, {hid, d}}
	ws := make([]*streamWeights, len(shapes))
	for i, s := range shapes {
		ws[i] = streamFor(s[0], s[1])
	}
	rng := rand.New(rand.NewPCG(3, 4))
	x := randMatrix(rng, m, hid, hid)
	res := randMatrix(rng, m, d, d)
	c := make([]float32, m*hid)
	bias := randMatrix(rng, 1, hid, hid)
	eps := []kernels.Epilogue{
		{Bias: bias[:3*d]},
		{Bias: bias[:d], Residual: res, LDR: d},
		{Bias: bias, Act: kernels.ActGELU},
		{Bias: bias[:d], Residual: res, LDR: d},
	}
	block := func(bf bool, it int) {
		for i, s := range shapes {
			k, n := s[0], s[1]
			if bf {
				kernels.GemmBF16(1, m, x, k, ws[i].bf[it%len(ws[i].bf)], c, n, eps[i])
			} else {
				kernels.GemmPacked(1, m, x, k, ws[i].f32[it%len(ws[i].f32)], c, n, eps[i])
			}
		}
	}
	var f32, bf []float64
	it := 0
	for b.Loop() {
		c0 := processCPU()
		block(false, it)
		c1 := processCPU()
		block(true, it)
		c2 := processCPU()
		f32, bf = append(f32, (c1-c0)*1e3), append(bf, (c2-c1)*1e3)
		it++
	}
	slices.Sort(f32)
	slices.Sort(bf)
	b.ReportMetric(f32[len(f32)/2], "f32-cpu-ms")
	b.ReportMetric(bf[len(bf)/2], "bf16-cpu-ms")
	b.ReportMetric(f32[len(f32)/2]/bf[len(bf)/2], "bf16-vs-f32")
}
