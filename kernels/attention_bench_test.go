package kernels_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/kernels/kerneltest"
)

// BenchmarkAttention times one head of ViT-B attention (headDim 64, q, k
// and v interleaved in an N×2304 qkv matrix, as the model holds them) for
// N = 197, 577, 1025, 4097 tokens (224², 384², 512², 1024² at patch 16):
//
//   - fused: kernels.Attention over all N queries;
//   - fused-tiles: kernels.Attention per query tile of 256 rows (how the
//     model hands out work items; k and v are repacked per tile);
//   - packed-tiles: PackAttentionKV once, then AttentionPacked per query
//     tile of 256 rows;
//   - packed-bf16: packed-tiles with PackAttentionKVBF16 (the bfloat16
//     attention of int8 and bf16 models where the level has it: amx);
//   - packed-int8: packed-tiles with PackAttentionKVInt8 (the int8
//     attention of int8 models where the level has it: avx512 with VNNI,
//     avx2; bfloat16 at amx);
//   - unfused: the model's current path per query tile of 256 rows,
//     Sgemm(Q·Kᵀ) into a 256×N score matrix, Softmax per row,
//     Sgemm(P·V).
//
// GFLOP/s counts the two products (4·N²·64 flops per head); cpu-GFLOP/s
// divides them by the process's CPU time instead of the wall time.
//
//	go test ./kernels -run - -bench Attention -benchtime 20x
func BenchmarkAttention(b *testing.B) {
	const d, hd, tile = 768, 64, 256
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{197, 577, 1025, 4097} {
		qkv := kerneltest.Rand(rng, n*3*d, -2, 2)
		q, k, v := qkv, qkv[d:], qkv[2*d:]
		out := make([]float32, n*d)
		scores := make([]float32, tile*n)
		scale := float32(1 / math.Sqrt(hd))
		flops := 4 * float64(n) * float64(n) * hd
		var kv kernels.AttentionKV
		run := map[string]func(){
			"fused": func() {
				kernels.Attention(out, d, q, k, v, 3*d, 3*d, 3*d, n, n, hd, scale, nil, 0)
			},
			"fused-tiles": func() {
				for lo := 0; lo < n; lo += tile {
					rows := min(tile, n-lo)
					kernels.Attention(out[lo*d:], d, q[lo*3*d:], k, v, 3*d, 3*d, 3*d, rows, n, hd, scale, nil, 0)
				}
			},
			"packed-tiles": func() {
				kernels.PackAttentionKV(&kv, k, v, 3*d, 3*d, n, hd)
				for lo := 0; lo < n; lo += tile {
					rows := min(tile, n-lo)
					kernels.AttentionPacked(out[lo*d:], d, q[lo*3*d:], 3*d, rows, &kv, scale, nil, 0)
				}
			},
			"packed-bf16": func() {
				kernels.PackAttentionKVBF16(&kv, k, v, 3*d, 3*d, n, hd)
				for lo := 0; lo < n; lo += tile {
					rows := min(tile, n-lo)
					kernels.AttentionPacked(out[lo*d:], d, q[lo*3*d:], 3*d, rows, &kv, scale, nil, 0)
				}
			},
			"packed-int8": func() {
				kernels.PackAttentionKVInt8(&kv, k, v, 3*d, 3*d, n, hd)
				for lo := 0; lo < n; lo += tile {
					rows := min(tile, n-lo)
					kernels.AttentionPacked(out[lo*d:], d, q[lo*3*d:], 3*d, rows, &kv, scale, nil, 0)
				}
			},
			"unfused": func() {
				for lo := 0; lo < n; lo += tile {
					rows := min(tile, n-lo)
					s := scores[:rows*n]
					kernels.Sgemm(1, false, true, rows, n, hd, 1, q[lo*3*d:], 3*d, k, 3*d, 0, s, n)
					for r := 0; r < rows; r++ {
						kernels.Softmax(s[r*n:(r+1)*n], scale, nil)
					}
					kernels.Sgemm(1, false, false, rows, hd, n, 1, s, n, v, 3*d, 0, out[lo*d:], d)
				}
			},
		}
		for _, name := range []string{"unfused", "fused", "fused-tiles", "packed-tiles", "packed-bf16", "packed-int8"} {
			f := run[name]
			b.Run(fmt.Sprintf("N=%d/%s", n, name), func(b *testing.B) {
				kerneltest.Bench(b, func(b *testing.B) {
					f()
					b.ReportAllocs()
					cpu0 := processCPU()
					for b.Loop() {
						f()
					}
					cpu := processCPU() - cpu0
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					if cpu > 0 {
						// Process CPU time per call: robust to waiting
						// for a core on a busy machine (one goroutine works).
						b.ReportMetric(cpu/float64(b.N)*1e3, "cpu-ms/op")
						b.ReportMetric(flops*float64(b.N)/cpu/1e9, "cpu-GFLOP/s")
					}
				})
			})
		}
	}
}

// BenchmarkAttentionSharp times one head of ViT-B attention at N = 197
// (packed once, all queries) with q, k and v drawn from U(-a, a): the
// logits' standard deviation is a²/3 (1.3, 12, 21 and 48 for a = 2, 6, 8
// and 12), so from a = 8 on most of a row's probabilities fall more than
// e^-87 below the row's largest, as in the sharp heads of trained models
// (where subnormal probabilities cost Intel cores a microcode assist unless
// the kernels flush them).
//
//	go test ./kernels -run - -bench AttentionSharp -benchtime 2000x
func BenchmarkAttentionSharp(b *testing.B) {
	const d, hd, n = 768, 64, 197
	scale := float32(1 / math.Sqrt(hd))
	for _, a := range []float64{2, 6, 8, 12} {
		rng := rand.New(rand.NewPCG(1, 2))
		qkv := kerneltest.Rand(rng, n*3*d, -a, a)
		q, k, v := qkv, qkv[d:], qkv[2*d:]
		out := make([]float32, n*d)
		var kv kernels.AttentionKV
		b.Run(fmt.Sprintf("a=%g", a), func(b *testing.B) {
			kerneltest.Bench(b, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					kernels.PackAttentionKV(&kv, k, v, 3*d, 3*d, n, hd)
					kernels.AttentionPacked(out, d, q, 3*d, n, &kv, scale, nil, 0)
				}
			})
		})
	}
}
