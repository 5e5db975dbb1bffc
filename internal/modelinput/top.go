package modelinput

import (
	"fmt"
	"math"
	"sort"

	"github.com/anyres/anyres/internal/tensorfile"
)

// Class is one class of a classifier's output: its index and probability.
type Class struct {
	Index int
	Prob  float64
}

// Top returns the k most probable classes of logits (softmax in float64),
// most probable first; ties keep the lower index first. A NaN or Inf logit
// is an error: classes cannot be ranked by it.
func Top(logits []float32, k int) ([]Class, error) {
	if i := tensorfile.FirstNonFinite(logits); i >= 0 {
		return nil, fmt.Errorf("logit %d is %v: the model's output is not finite for this input", i, logits[i])
	}
	p := make([]float64, len(logits))
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = math.Max(mx, float64(v))
	}
	var sum float64
	for i, v := range logits {
		p[i] = math.Exp(float64(v) - mx)
		sum += p[i]
	}
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return p[idx[a]] > p[idx[b]] })
	out := make([]Class, min(max(k, 0), len(idx)))
	for r := range out {
		out[r] = Class{Index: idx[r], Prob: p[idx[r]] / sum}
	}
	return out, nil
}
