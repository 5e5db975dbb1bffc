package vit

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anyres/anyres/internal/abtest"
	"github.com/anyres/anyres/posenc"
)

var benchB16 struct {
	once sync.Once
	m    *Model
	err  error
}

// b16 is ViT-B/16 with random weights (built once) on threads workers.
func b16(b *testing.B, threads int) *Model {
	benchB16.once.Do(func() {
		cfg := ViTB16()
		cfg.DynamicImgPad = true
		benchB16.m, benchB16.err = New(cfg, RandomWeights(cfg, 1), Options{Threads: 1})
	})
	if benchB16.err != nil {
		b.Fatal(benchB16.err)
	}
	return benchB16.m.withThreads(threads)
}

func benchImage(h, w int) Image {
	pix := make([]float32, 3*h*w)
	for i := range pix {
		pix[i] = float32(i%251)/125 - 1
	}
	return Image{C: 3, H: h, W: w, Pix: pix}
}

// BenchmarkViTB16 times ViT-B/16 forward passes; allocs/op is 0 once warm.
//
//	go test ./vit -run - -bench ViTB16 -benchtime 3x
func BenchmarkViTB16(b *testing.B) {
	for _, s := range [][2]int{{224, 224}, {384, 384}, {518, 392}, {1024, 1024}} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%d/threads=%d", s[0], s[1], threads), func(b *testing.B) {
				m := b16(b, threads)
				img := benchImage(s[0], s[1])
				var out Output
				if err := m.Forward(img, &out); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					m.Forward(img, &out)
				}
				g := out.Grid
				b.ReportMetric(m.Encoder().FLOPs(g)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				b.ReportMetric(float64(m.WorkspaceBytes(s))/(1<<20), "workspace-MB")
			})
		}
	}
}

// BenchmarkViTB16HeadOnly alternates whole forward passes (tokens, pooled
// feature, logits) and passes that ask for the logits alone
// (Output.HeadOnly: the last block runs on the class token), forward by
// forward in one process, and reports each side's median and the median
// per-pair speed ratio head-only ÷ whole:
//
//	go test ./vit -run - -bench ViTB16HeadOnly -benchtime 10x
func BenchmarkViTB16HeadOnly(b *testing.B) {
	for _, s := range [][2]int{{224, 224}, {384, 384}, {1024, 1024}} {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%dx%d/threads=%d", s[0], s[1], threads), func(b *testing.B) {
				m := b16(b, threads)
				img := benchImage(s[0], s[1])
				whole, head := Output{}, Output{HeadOnly: true}
				fwd := func(out *Output) float64 {
					t0 := time.Now()
					if err := m.Forward(img, out); err != nil {
						b.Fatal(err)
					}
					return time.Since(t0).Seconds()
				}
				fwd(&whole)
				fwd(&head)
				var ws, hs, ratio []float64
				for i := 0; b.Loop(); i++ {
					var w, h float64
					if i%2 == 0 {
						w, h = fwd(&whole), fwd(&head)
					} else {
						h, w = fwd(&head), fwd(&whole)
					}
					ws, hs, ratio = append(ws, w), append(hs, h), append(ratio, w/h)
				}
				q := abtest.Quantile
				b.ReportMetric(1e3*q(ws, 0.5), "whole-ms")
				b.ReportMetric(1e3*q(hs, 0.5), "head-ms")
				b.ReportMetric(q(ratio, 0.5), "speedup")
			})
		}
	}
}

// BenchmarkPack runs four images of different sizes packed into one
// sequence, and the same four zero-padded to the largest size.
func BenchmarkPack(b *testing.B) {
	sizes := [][2]int{{224, 224}, {160, 320}, {384, 256}, {128, 128}}
	var imgs, padded []Image
	for _, s := range sizes {
		imgs = append(imgs, benchImage(s[0], s[1]))
		padded = append(padded, benchImage(384, 320))
	}
	for name, batch := range map[string][]Image{"packed": imgs, "padded": padded} {
		b.Run(name, func(b *testing.B) {
			m := b16(b, 2)
			outs := make([]Output, len(batch))
			b.ReportAllocs()
			for b.Loop() {
				if err := m.ForwardBatch(batch, outs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAttentionEncodings times ViT-B/16 with RoPE and a relative
// position bias inside attention against the plain model.
//
//	go test ./vit -run - -bench AttentionEncodings -benchtime 5x
func BenchmarkAttentionEncodings(b *testing.B) {
	heads := ViTB16().NumHeads
	window := posenc.Grid{H: 14, W: 14}
	bias, err := posenc.NewRelPosBias(make([]float32, posenc.RelPosTableRows(window, true)*heads), heads, window, true, nil)
	if err != nil {
		b.Fatal(err)
	}
	rope := &posenc.Rope2D{Options: posenc.RopeOptions{RefGrid: window}}
	for _, s := range [][2]int{{224, 224}, {518, 392}} {
		for _, enc := range []string{"none", "rope", "bias", "rope+bias"} {
			b.Run(fmt.Sprintf("%dx%d/%s", s[0], s[1], enc), func(b *testing.B) {
				var opts Options
				if strings.Contains(enc, "rope") {
					opts.Rotary = rope
				}
				if strings.Contains(enc, "bias") {
					opts.AttentionBias = bias
				}
				m := b16opts(b, 2, opts)
				img := benchImage(s[0], s[1])
				var out Output
				if err := m.Forward(img, &out); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					m.Forward(img, &out)
				}
			})
		}
	}
}

// b16opts builds a ViT-B/16 with random weights and the given options.
func b16opts(b *testing.B, threads int, opts Options) *Model {
	cfg := ViTB16()
	cfg.DynamicImgPad = true
	opts.Threads = threads
	m, err := New(cfg, RandomWeights(cfg, 1), opts)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkViTB16SharpAttention times one-thread ViT-B/16 forwards at 224²
// whose query weights are scaled by s: the attention logits spread s times
// wider, and from s ≈ 30 most of a row's probabilities fall below e^-87,
// as in the sharp heads of trained models (the subnormal probabilities the
// softmax kernels flush; BenchmarkAttentionSharp in kernels is one head).
//
//	go test ./vit -run - -bench ViTB16SharpAttention -benchtime 6x
func BenchmarkViTB16SharpAttention(b *testing.B) {
	for _, s := range []float32{1, 30, 50, 200} {
		b.Run(fmt.Sprintf("s=%g", s), func(b *testing.B) {
			cfg := ViTB16()
			src := RandomWeights(cfg, 1)
			for i := range cfg.Depth {
				q := src[fmt.Sprintf("blocks.%d.attn.qkv.weight", i)].Data[:cfg.EmbedDim*cfg.EmbedDim]
				for j := range q {
					q[j] *= s
				}
			}
			m, err := New(cfg, src, Options{Threads: 1})
			if err != nil {
				b.Fatal(err)
			}
			img := benchImage(224, 224)
			var out Output
			if err := m.Forward(img, &out); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				m.Forward(img, &out)
			}
		})
	}
}
