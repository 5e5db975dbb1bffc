package naflex

import (
	"fmt"
	"sync"
	"testing"

	"github.com/anyres/anyres/imageprep"

	"github.com/anyres/anyres/nn"
)

var benchModel struct {
	once sync.Once
	m    *Model
	err  error
}

// base is naflexvit_base_patch16_siglip with random weights (built once)
// on threads workers.
func base(b *testing.B, threads int) *Model {
	benchModel.once.Do(func() {
		cfg := SigLIP2Base()
		benchModel.m, benchModel.err = newModel(cfg, RandomWeights(cfg, 1), options{})
	})
	if benchModel.err != nil {
		b.Fatal(benchModel.err)
	}
	return benchModel.m.withThreads(threads)
}

func benchImage(h, w int) nn.Image {
	pix := make([]float32, 3*h*w)
	for i := range pix {
		pix[i] = float32(i%251)/125 - 1
	}
	return nn.Image{C: 3, H: h, W: w, Pix: pix}
}

// BenchmarkSigLIP2 times the SigLIP 2 B/16 NaFlex tower at two token
// budgets, each image at the size imageprep.NaFlexSize picks for a 480×640 photo.
//
//	go test ./naflex -run - -bench SigLIP2 -benchtime 3x
func BenchmarkSigLIP2(b *testing.B) {
	for _, budget := range []int{256, 1024} {
		sz, err := imageprep.NaFlexSize(480, 640, 16, budget)
		h, w := sz.H, sz.W
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dx%d/threads=2", h, w), func(b *testing.B) {
			m := base(b, 2)
			img := benchImage(h, w)
			var out nn.Output
			if err := m.Forward(img, &out); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				m.Forward(img, &out)
			}
			b.ReportMetric(float64(out.Grid.N()), "tokens")
		})
	}
}

// padded turns images into timm's padded NaFlex batch: each image's
// patches (channels last, or first) first, then zero rows up to the longest image.
func padded(imgs []nn.Image, p int, channelsFirst bool) Patches {
	rows := 0
	for _, im := range imgs {
		rows = max(rows, (im.H/p)*(im.W/p))
	}
	k := p * p * 3
	out := Patches{Batch: len(imgs), Rows: rows, Data: make([]float32, len(imgs)*rows*k),
		Coord: make([]int64, 2*len(imgs)*rows), Valid: make([]bool, len(imgs)*rows)}
	for b, im := range imgs {
		gw := im.W / p
		for i := 0; i < (im.H/p)*gw; i++ {
			r := b*rows + i
			out.Valid[r], out.Coord[2*r], out.Coord[2*r+1] = true, int64(i/gw), int64(i%gw)
			for ky := 0; ky < p; ky++ {
				for kx := 0; kx < p; kx++ {
					for c := 0; c < 3; c++ {
						at := (ky*p+kx)*3 + c
						if channelsFirst {
							at = (c*p+ky)*p + kx
						}
						out.Data[r*k+at] = im.Pix[c*im.H*im.W+((i/gw)*p+ky)*im.W+(i%gw)*p+kx]
					}
				}
			}
		}
	}
	return out
}

// BenchmarkNaFlexBatch runs a NaFlex batch of four images of mixed sizes
// (two photos at SigLIP 2's 256-patch size, two smaller images kept at
// their own size), as timm's collator pads them: "packed" is
// ForwardPatches (the valid rows only, block-diagonal); "padded" emulates
// the padded batch's work by running every image at the longest image's
// token count (what a padded, masked batch computes).
//
//	go test ./naflex -run - -bench NaFlexBatch -benchtime 3x
func BenchmarkNaFlexBatch(b *testing.B) {
	var imgs []nn.Image
	for _, s := range [][2]int{{224, 288}, {192, 336}, {112, 160}, {192, 288}} {
		imgs = append(imgs, benchImage(s[0], s[1]))
	}
	p := padded(imgs, 16, false)
	valid := 0
	for _, v := range p.Valid {
		if v {
			valid++
		}
	}
	b.Run("packed", func(b *testing.B) {
		m := base(b, 2)
		outs := make([]nn.Output, p.Batch)
		if err := m.ForwardPatches(p, outs); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := m.ForwardPatches(p, outs); err != nil {
				b.Fatal(err)
			}
		}
		var sizes [][2]int
		for _, im := range imgs {
			sizes = append(sizes, [2]int{im.H, im.W})
		}
		b.ReportMetric(float64(valid), "tokens")
		b.ReportMetric(flopsOf(m, sizes)/1e9, "GFLOP")
	})
	b.Run("padded", func(b *testing.B) {
		m := base(b, 2)
		// Every image at p.Rows tokens: a 1×Rows strip has the padded
		// batch's token count and attention size.
		same := make([]nn.Image, p.Batch)
		for i := range same {
			same[i] = benchImage(16, 16*p.Rows)
		}
		outs := make([]nn.Output, p.Batch)
		if err := m.ForwardBatch(same, outs); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if err := m.ForwardBatch(same, outs); err != nil {
				b.Fatal(err)
			}
		}
		var sizes [][2]int
		for _, im := range same {
			sizes = append(sizes, [2]int{im.H, im.W})
		}
		b.ReportMetric(float64(p.Batch*p.Rows), "tokens")
		b.ReportMetric(flopsOf(m, sizes)/1e9, "GFLOP")
	})
}

// flopsOf adds up the FLOPs of images of these sizes.
func flopsOf(m *Model, sizes [][2]int) float64 {
	var f float64
	for _, s := range sizes {
		f += m.FLOPs(s[0], s[1])
	}
	return f
}
