package posenc

import (
	"fmt"
	"math"

	"github.com/anyres/anyres/kernels"
)

// LogCoordsMode selects the log-spaced relative coordinates of
// RelativeLogCoords.
type LogCoordsMode int

const (
	// LogCoordsSwin is SwinV2's: offsets normalised to [-8, 8] by the
	// (pretrained) window, then sign·log2(1+|x|)/log2(8).
	LogCoordsSwin LogCoordsMode = iota
	// LogCoordsCR is timm's 'cr' variant: sign·ln(1+|x|) of raw offsets.
	LogCoordsCR
)

// RelativeLogCoords is timm's gen_relative_log_coords(window, pretrained,
// mode): (2H-1)·(2W-1) rows of (dy, dx), log-spaced, row-major over offsets
// from -(H-1) to H-1 and -(W-1) to W-1. A zero pretrained grid normalises
// by window itself; a pretrained window keeps the coordinates of the
// training window, so a larger window extrapolates (SwinV2's transfer).
func RelativeLogCoords(window, pretrained Grid, mode LogCoordsMode) ([]float32, error) {
	if err := checkGrid(window); err != nil {
		return nil, fmt.Errorf("posenc: log coords window: %w", err)
	}
	if err := checkTableSize("log coords", (2*window.H-1)*(2*window.W-1), 2); err != nil {
		return nil, err
	}
	norm := window
	switch mode {
	case LogCoordsSwin:
		if pretrained.H > 0 {
			norm = pretrained
		}
		// timm divides by (size - 1): a side of 1 would divide 0 by 0.
		if norm.H < 2 || norm.W < 2 {
			return nil, fmt.Errorf("posenc: SwinV2 log coords need windows of at least 2×2 to normalise by, got %s", norm)
		}
	case LogCoordsCR:
	default:
		return nil, fmt.Errorf("posenc: unknown log coords mode %d", mode)
	}
	out := make([]float32, 0, (2*window.H-1)*(2*window.W-1)*2)
	for dy := -(window.H - 1); dy < window.H; dy++ {
		for dx := -(window.W - 1); dx < window.W; dx++ {
			for ax, v := range [2]float32{float32(dy), float32(dx)} {
				if mode == LogCoordsCR {
					out = append(out, signLog(v, math.Log, 1))
					continue
				}
				n := float32(norm.H - 1)
				if ax == 1 {
					n = float32(norm.W - 1)
				}
				v = v / n * 8
				out = append(out, signLog(v, math.Log2, 3))
			}
		}
	}
	return out, nil
}

// signLog is sign(v)·log(1+|v|)/div with each step rounded to float32, as
// PyTorch computes it.
func signLog(v float32, log func(float64) float64, div float32) float32 {
	a := float32(math.Abs(float64(v)))
	l := float32(log(float64(1 + a)))
	var s float32
	switch {
	case v > 0:
		s = 1
	case v < 0:
		s = -1
	}
	return s * l / div
}

// CPB is SwinV2's continuous position bias (timm RelPosMlp(mode='swin')):
// a small MLP maps each log-spaced relative offset to one value per head,
// 16·sigmoid(fc2(relu(fc1(coords)))), gathered into each head's N×N scores
// like a learned relative bias. Because the table is computed from
// coordinates, it exists for any window, and extrapolates smoothly to
// windows larger than the pretrained one. Tables are cached per window.
// Prefix tokens get no bias (timm pads with zeros).
type CPB struct {
	fc1w, fc1b, fc2w []float32
	heads, hidden    int
	pretrained       Grid
	cache            perGridCache[relKey, *relPlan]
}

// NewCPB makes the bias from the MLP's weights in PyTorch's layout:
// fc1Weight hidden×2, fc1Bias hidden, fc2Weight heads×hidden (fc2 has no
// bias in SwinV2). pretrained is the pretrained window (zero: none).
func NewCPB(fc1Weight, fc1Bias, fc2Weight []float32, heads, hidden int, pretrained Grid) (*CPB, error) {
	if heads <= 0 || hidden <= 0 || heads > 1<<12 || hidden > 1<<16 {
		return nil, fmt.Errorf("posenc: CPB: %d heads and %d hidden units must be in 1..4096 and 1..65536", heads, hidden)
	}
	if len(fc1Weight) != hidden*2 || len(fc1Bias) != hidden || len(fc2Weight) != heads*hidden {
		return nil, fmt.Errorf("posenc: CPB weights have %d, %d, %d values; want fc1.weight %d×2, fc1.bias %d, fc2.weight %d×%d",
			len(fc1Weight), len(fc1Bias), len(fc2Weight), hidden, hidden, heads, hidden)
	}
	if pretrained != (Grid{}) && (pretrained.H < 2 || pretrained.W < 2) {
		return nil, fmt.Errorf("posenc: CPB pretrained window %s must be at least 2×2 (or zero for none)", pretrained)
	}
	return &CPB{fc1w: fc1Weight, fc1b: fc1Bias, fc2w: fc2Weight, heads: heads, hidden: hidden, pretrained: pretrained}, nil
}

// LoadCPB reads the MLP from state-dict tensors named prefix+"mlp.fc1.weight",
// "mlp.fc1.bias" and "mlp.fc2.weight" (timm's names); get is, for example,
// a safetensors file's Float32 method.
func LoadCPB(get func(name string) ([]float32, []int, error), prefix string, pretrained Grid) (*CPB, error) {
	var t [3][]float32
	var shapes [3][]int
	for i, name := range []string{"mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight"} {
		v, shape, err := get(prefix + name)
		if err != nil {
			return nil, fmt.Errorf("posenc: CPB: %w", err)
		}
		t[i], shapes[i] = v, shape
	}
	if len(shapes[0]) != 2 || shapes[0][1] != 2 || len(shapes[2]) != 2 {
		return nil, fmt.Errorf("posenc: CPB: fc1.weight shape %v and fc2.weight shape %v, want [hidden 2] and [heads hidden]", shapes[0], shapes[2])
	}
	return NewCPB(t[0], t[1], t[2], shapes[2][0], shapes[0][0], pretrained)
}

// Heads is the number of attention heads the bias is for.
func (c *CPB) Heads() int { return c.heads }

// Table returns the bias of every relative offset of window,
// (2H-1)·(2W-1) rows × heads: 16·sigmoid(MLP(RelativeLogCoords)).
func (c *CPB) Table(window Grid) ([]float32, error) {
	coords, err := RelativeLogCoords(window, c.pretrained, LogCoordsSwin)
	if err != nil {
		return nil, err
	}
	rows := len(coords) / 2
	hid := make([]float32, rows*c.hidden)
	kernels.Sgemm(1, false, true, rows, c.hidden, 2, 1, coords, 2, c.fc1w, 2, 0, hid, c.hidden)
	for r := 0; r < rows; r++ {
		h := hid[r*c.hidden : (r+1)*c.hidden]
		for j := range h {
			h[j] = max(h[j]+c.fc1b[j], 0)
		}
	}
	out := make([]float32, rows*c.heads)
	kernels.Sgemm(1, false, true, rows, c.heads, c.hidden, 1, hid, c.hidden, c.fc2w, c.hidden, 0, out, c.heads)
	for i, v := range out {
		out[i] = 16 * float32(1/(1+math.Exp(-float64(v))))
	}
	return out, nil
}

// AddBias adds head's continuous position bias for window g to the scores
// of queries [lo, hi).
func (c *CPB) AddBias(scores []float32, head int, g Grid, prefix, lo, hi int) error {
	p, err := c.plan(g, prefix)
	if err != nil {
		return err
	}
	return p.add(scores, head, lo, hi)
}

// Bias returns timm's get_bias(): heads × N × N, N = prefix + g.N().
func (c *CPB) Bias(g Grid, prefix int) ([]float32, error) {
	p, err := c.plan(g, prefix)
	if err != nil {
		return nil, err
	}
	return p.bias(), nil
}

func (c *CPB) plan(g Grid, prefix int) (*relPlan, error) {
	if err := checkRelPrefix(prefix, false); err != nil {
		return nil, err
	}
	return c.cache.get(relKey{g, prefix}, func() (*relPlan, error) {
		table, err := c.Table(g)
		if err != nil {
			return nil, err
		}
		return newRelPlan(table, c.heads, g, false, prefix, nil)
	})
}
