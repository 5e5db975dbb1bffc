package nn

import "math/rand/v2"

// RandomWeights fills a MapSource with weights of given names and shapes,
// for benchmarks and tests of full-size models without a checkpoint: each
// family's RandomWeights(cfg, seed) lists its tensors through Put.
type RandomWeights struct {
	Source MapSource
	r      *rand.Rand
}

// NewRandomWeights starts an empty source drawing from PCG(seed, stream);
// a family passes its own stream so that its weights differ from others'.
func NewRandomWeights(seed, stream uint64) *RandomWeights {
	return &RandomWeights{Source: MapSource{}, r: rand.New(rand.NewPCG(seed, stream))}
}

// Put adds a tensor of the shape holding fill, or, with fill 0, values
// drawn uniformly from ±0.05.
func (w *RandomWeights) Put(name string, fill float32, shape ...int) {
	v := make([]float32, Product(shape))
	for i := range v {
		if fill != 0 {
			v[i] = fill
		} else {
			v[i] = (w.r.Float32() - 0.5) / 10
		}
	}
	w.Source[name] = Tensor{Data: v, Shape: shape}
}
