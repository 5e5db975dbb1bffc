package batch

import (
	"fmt"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/bench"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/vit"
)

// BenchmarkPass compares one packed pass of eight images with the eight
// images run one by one, on a ViT-S/16 (random weights) with one and two
// threads: the work a Batcher saves, without the batcher or HTTP. With
// -cpuprofile it shows where a pass spends its time:
//
//	go test -run '^$' -bench Pass/224/1T -cpuprofile cpu.prof ./serve/batch
func BenchmarkPass(b *testing.B) {
	cfg := vit.ViTB16()
	cfg.EmbedDim, cfg.NumHeads, cfg.MLPHidden = 384, 6, 1536
	m, err := bench.RandomViT(cfg, anyres.Options{MaxTokens: 4096})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	for _, mix := range []struct {
		name  string
		sizes [][2]int
	}{
		{"224", [][2]int{{224, 224}, {160, 320}, {320, 160}, {192, 256}}},
		{"small", [][2]int{{96, 96}, {64, 128}, {128, 64}, {112, 112}}},
	} {
		imgs := make([]nn.Image, 8)
		for i := range imgs {
			s := mix.sizes[i%len(mix.sizes)]
			imgs[i] = randomImage(uint64(i), 3, s[0], s[1])
		}
		outs := make([]nn.Output, len(imgs))
		for _, threads := range []int{1, 2} {
			t, err := anyres.WithThreads(m, threads)
			if err != nil {
				b.Fatal(err)
			}
			run := func(b *testing.B, pass func() error) {
				for b.Loop() {
					if err := pass(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(b.Elapsed().Seconds()*1000/float64(b.N*len(imgs)), "ms/img")
			}
			b.Run(fmt.Sprintf("%s/%dT/packed", mix.name, threads), func(b *testing.B) {
				run(b, func() error { return t.ForwardBatch(imgs, outs) })
			})
			b.Run(fmt.Sprintf("%s/%dT/single", mix.name, threads), func(b *testing.B) {
				run(b, func() error {
					for i := range imgs {
						if err := t.Forward(imgs[i], &outs[i]); err != nil {
							return err
						}
					}
					return nil
				})
			})
		}
	}
}
