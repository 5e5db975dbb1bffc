package nn

import (
	"math"
	"sync"
)

// Calibration measures what the int8 rewrite of a LayerNorm (smooth.go)
// can use beyond the norm's own tensors: the largest |normalised value|
// n_j = (y_j − β_j)/γ_j of each channel, over images run through a
// float32 model, for every norm that an int8 load folds into the layers
// it feeds. Set it as Precision.Calibration on a float32 load, run the
// images, and store Ranges in the checkpoint (NAME+RangeSuffix), where
// NewLayerNorm reads them back as LayerNorm.Range. Safe for concurrent
// forward passes.
type Calibration struct {
	mu        sync.Mutex
	ranges    map[string][]float32
	nonFinite string // the first norm whose output held NaN or ±Inf
}

// NewCalibration returns an empty Calibration.
func NewCalibration() *Calibration { return &Calibration{ranges: map[string][]float32{}} }

// Ranges returns a copy of the ranges measured so far, by norm name.
func (c *Calibration) Ranges() map[string][]float32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string][]float32, len(c.ranges))
	for k, v := range c.ranges {
		out[k] = append([]float32(nil), v...)
	}
	return out
}

// NonFinite returns the name of the first norm whose output held a
// non-finite value since the last call ("" for none), and forgets it: a
// caller checks it after each image to name the image that caused it.
func (c *Calibration) NonFinite() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nonFinite
	c.nonFinite = ""
	return n
}

// watch makes norm report its outputs to c.
func (c *Calibration) watch(norm *LayerNorm) {
	if norm == nil || len(norm.W) == 0 || len(norm.B) != len(norm.W) {
		return
	}
	d := len(norm.W)
	c.mu.Lock()
	if c.ranges[norm.Name] == nil {
		c.ranges[norm.Name] = make([]float32, d)
	}
	c.mu.Unlock()
	g, b, name := norm.W, norm.B, norm.Name
	local := make([]float32, d)
	norm.observe = func(rows []float32) {
		c.mu.Lock()
		defer c.mu.Unlock()
		clear(local)
		bad := false
		for i := 0; i+d <= len(rows); i += d {
			for j, y := range rows[i : i+d] {
				if y-y != 0 {
					bad = true
					continue
				}
				if g[j] != 0 {
					local[j] = max(local[j], float32(math.Abs(float64(y-b[j])/float64(g[j]))))
				}
			}
		}
		if bad && c.nonFinite == "" {
			c.nonFinite = name
		}
		r := c.ranges[name]
		for j, v := range local {
			r[j] = max(r[j], v)
		}
	}
}
