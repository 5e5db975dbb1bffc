package familytest

import (
	"math/rand/v2"
	"testing"

	"github.com/anyres/anyres/nn"
)

// Checkpoint is an in-memory checkpoint (weights built in code, e.g.
// random weights for benchmarks, or a golden file's weights rewritten).
type Checkpoint struct{ nn.MapSource }

// Shape is the tensor's shape.
func (c Checkpoint) Shape(name string) ([]int, error) {
	_, s, err := c.Float32(name)
	return s, err
}

// Metadata is empty.
func (Checkpoint) Metadata() map[string]string { return nil }

// Random fills a checkpoint with normal values (std 0.02) of the given
// shapes, seeded.
func Random(shapes map[string][]int, seed uint64) Checkpoint {
	rng := rand.New(rand.NewPCG(seed, 1))
	src := nn.MapSource{}
	for name, shape := range shapes {
		v := make([]float32, nn.Product(shape))
		for i := range v {
			v[i] = float32(0.02 * rng.NormFloat64())
		}
		src[name] = nn.Tensor{Data: v, Shape: shape}
	}
	return Checkpoint{src}
}

// BenchImage is a deterministic C×H×W test image.
func BenchImage(h, w int) nn.Image {
	pix := make([]float32, 3*h*w)
	for i := range pix {
		pix[i] = float32(i%251)/125 - 1
	}
	return nn.Image{C: 3, H: h, W: w, Pix: pix}
}

// Bench times warm forward passes of m on an h×w image (0 allocations
// once warm); flops, when given, reports GFLOP/s.
func Bench(b *testing.B, m nn.Net, h, w int, flops func(h, w int) float64) {
	img := BenchImage(h, w)
	var out nn.Output
	if err := m.Forward(img, &out); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m.Forward(img, &out)
	}
	b.ReportMetric(b.Elapsed().Seconds()*1e3/float64(b.N), "ms/op")
	if flops != nil {
		b.ReportMetric(flops(h, w)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	}
}
