package posenc

import (
	"fmt"
	"math"

	"github.com/anyres/anyres/kernels"
)

// RopeNormalize is how DINOv3 scales patch-centre coordinates to [-1, 1]
// (timm make_coords_dinov3's normalize_coords).
type RopeNormalize int

const (
	// NormalizeSeparate divides rows by the grid's height and columns by
	// its width ('separate', every released DINOv3): each axis spans
	// [-1, 1] whatever the aspect ratio.
	NormalizeSeparate RopeNormalize = iota
	NormalizeMax                    // both axes by max(H, W) ('max')
	NormalizeMin                    // both axes by min(H, W) ('min')
)

// DinoV3Options are the inference settings of timm's RotaryEmbeddingDinoV3.
// The training-time coordinate augmentations (shift, jitter, rescale) do
// nothing at inference and have no field.
type DinoV3Options struct {
	// Temperature is the base of the periods, temperature^(4k/headDim)
	// for k < headDim/4; 0 means 100 (DINOv3's). Unused when MinPeriod
	// and MaxPeriod are set.
	Temperature float64
	// MinPeriod and MaxPeriod, both set, space the periods geometrically
	// from one to the other instead (min·(max/min)^linspace(0, 1)).
	MinPeriod, MaxPeriod float64
	Normalize            RopeNormalize
	// GridOffset is added to the patch-centre indices (i+0.5) before
	// normalising.
	GridOffset float64
	// Interleaved pairs values 2i and 2i+1 (timm rotate_half=False);
	// false is DINOv3's half layout, value i with value i+headDim/2.
	Interleaved bool
}

// RopeDinoV3 is DINOv3's 2-D rotary embedding (timm RotaryEmbeddingDinoV3,
// facebookresearch/dinov3 RopePositionEmbedding) as a Rotary. Patch (i, j)
// of an H×W grid sits at the centre ((i+0.5)/H, (j+0.5)/W) mapped to
// [-1, 1]; pair k < headDim/4 turns by 2π·row/period_k and pair
// headDim/4+k by 2π·col/period_k. Coordinates are relative to the grid,
// so any size and aspect ratio spans the range the model was trained on:
// there is no table to resample. Prefix tokens (class, registers) are
// not rotated. Tables are cached per grid.
type RopeDinoV3 struct {
	Options DinoV3Options
	cache   perGridCache[sincosKey, [2][]float32]
}

// Periods returns the headDim/4 periods in float32, as timm computes them.
// (facebookresearch/dinov3's released weights carry the periods as a
// bfloat16 buffer; timm drops it and recomputes them in float32, so its
// outputs, and anyres's, differ slightly from the original code's.)
func (o DinoV3Options) Periods(headDim int) ([]float32, error) {
	if headDim <= 0 || headDim%4 != 0 {
		return nil, fmt.Errorf("posenc: DINOv3 rotary head dim %d must be a positive multiple of 4", headDim)
	}
	n := headDim / 4
	p := make([]float32, n)
	if o.MinPeriod != 0 || o.MaxPeriod != 0 {
		lo, hi := o.MinPeriod, o.MaxPeriod
		if !(lo > 0) || !(hi > 0) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
			return nil, fmt.Errorf("posenc: DINOv3 rotary periods %g..%g must both be set, positive and finite", lo, hi)
		}
		// min_period * (max/min) ** linspace(0, 1): a float32 tensor
		// raised from a Python float, times a Python float.
		for k, e := range linspace32(0, 1, n) {
			p[k] = float32(float32(lo) * float32(math.Pow(hi/lo, float64(e))))
		}
		return p, nil
	}
	temp := o.Temperature
	if temp == 0 {
		temp = 100
	}
	if !(temp > 0) || math.IsInf(temp, 0) {
		return nil, fmt.Errorf("posenc: DINOv3 rotary temperature %g must be positive and finite", o.Temperature)
	}
	for k := range p {
		e := float32(float32(2*k) / float32(headDim/2)) // 2·arange / (dim//2), float32
		p[k] = float32(math.Pow(temp, float64(e)))
	}
	return p, nil
}

// coords returns the normalised coordinates of one axis, as
// make_coords_dinov3 computes them in float32.
func (o DinoV3Options) coords(n, denom int) []float32 {
	c := make([]float32, n)
	for i := range c {
		v := float32(float32(float32(i)+0.5) + float32(o.GridOffset))
		v = v / float32(denom)
		c[i] = float32(2*v) - 1
	}
	return c
}

// DinoV3Tables returns the sin and cos tables of grid g for heads of
// headDim: g.N() rows of headDim/2 angles each (row angles, then column
// angles), the layout RopeRotateHalf takes; with Interleaved, rows of
// headDim values with each angle twice, the layout of RopeRotate.
func DinoV3Tables(g Grid, headDim int, o DinoV3Options) (sin, cos []float32, err error) {
	if err := checkGrid(g); err != nil {
		return nil, nil, err
	}
	periods, err := o.Periods(headDim)
	if err != nil {
		return nil, nil, err
	}
	if math.IsNaN(o.GridOffset) || math.IsInf(o.GridOffset, 0) {
		return nil, nil, fmt.Errorf("posenc: DINOv3 rotary grid offset %g must be finite", o.GridOffset)
	}
	if err := checkTableSize("rotary table", g.N(), headDim); err != nil {
		return nil, nil, err
	}
	hd, wd := g.H, g.W
	switch o.Normalize {
	case NormalizeSeparate:
	case NormalizeMax:
		hd, wd = max(g.H, g.W), max(g.H, g.W)
	case NormalizeMin:
		hd, wd = min(g.H, g.W), min(g.H, g.W)
	default:
		return nil, nil, fmt.Errorf("posenc: unknown DINOv3 coordinate normalisation %d", o.Normalize)
	}
	ch, cw := o.coords(g.H, hd), o.coords(g.W, wd)
	n4 := headDim / 4
	width := headDim / 2 // angles per token
	rep := 1
	if o.Interleaved {
		rep = 2
	}
	sin = make([]float32, g.N()*width*rep)
	cos = make([]float32, g.N()*width*rep)
	twoPi := float32(2 * math.Pi)
	for y := 0; y < g.H; y++ {
		for x := 0; x < g.W; x++ {
			r := (y*g.W + x) * width * rep
			for ci, c := range [2]float32{ch[y], cw[x]} {
				for k, p := range periods {
					a := float32(twoPi*c) / p // 2π·coords / periods, float32
					s, co := float32(math.Sin(float64(a))), float32(math.Cos(float64(a)))
					at := r + (ci*n4+k)*rep
					for j := 0; j < rep; j++ {
						sin[at+j], cos[at+j] = s, co
					}
				}
			}
		}
	}
	return sin, cos, nil
}

// Tables returns the (cached) tables of grid g for heads of headDim.
func (r *RopeDinoV3) Tables(g Grid, headDim int) (sin, cos []float32, err error) {
	t, err := r.cache.get(sincosKey{g, headDim}, func() ([2][]float32, error) {
		s, c, err := DinoV3Tables(g, headDim, r.Options)
		return [2][]float32{s, c}, err
	})
	return t[0], t[1], err
}

func (r *RopeDinoV3) apply(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int) {
	if r.Options.Interleaved {
		kernels.RopeRotate(x, ld, sin, cos, tokens, heads, headDim)
	} else {
		kernels.RopeRotateHalf(x, ld, sin, cos, tokens, heads, headDim)
	}
}

// Rotate applies the rotary embedding of grid g to the patch tokens of q
// and k (either may be nil).
func (r *RopeDinoV3) Rotate(q, k []float32, g Grid, heads, headDim, prefix int) error {
	return rotateQK(r, q, k, g, heads, headDim, prefix)
}

// RotateQKV applies the rotary embedding of grid g to the q and k columns
// of the patch rows of a fused qkv matrix.
func (r *RopeDinoV3) RotateQKV(qkv []float32, ld int, g Grid, heads, headDim, prefix int) error {
	return rotateQKV(r, qkv, ld, g, heads, headDim, prefix)
}
