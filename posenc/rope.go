package posenc

import (
	"fmt"
	"math"

	"github.com/anyres/anyres/kernels"
)

// Rotary is a position encoding applied inside attention: it rotates the
// queries and keys of the patch tokens so that their dot products depend on
// relative position (RoPE). Both methods change the patch tokens in place
// and leave prefix tokens alone (EVA-02's convention).
type Rotary interface {
	// Rotate takes q and k of prefix + g.N() tokens, each heads·headDim
	// values (token-major, heads interleaved). Either may be nil.
	Rotate(q, k []float32, g Grid, heads, headDim, prefix int) error
	// RotateQKV takes the fused qkv matrix: prefix + g.N() rows of ld
	// values, each row q, k, v of heads·headDim values (timm's column
	// order), ld ≥ 3·heads·headDim. v is not touched.
	RotateQKV(qkv []float32, ld int, g Grid, heads, headDim, prefix int) error
}

// RopeBands selects how build_rotary_pos_embed spaces its frequencies.
type RopeBands int

const (
	// PixelBands (timm in_pixels=True, the default): coordinates in
	// [-1, 1] across the grid, frequencies π·2^linspace(0, log2(MaxRes)-1).
	PixelBands RopeBands = iota
	// FreqBands (in_pixels=False, EVA-02's choice): integer coordinates,
	// frequencies 1/Temperature^(k/n), as in language-model RoPE.
	FreqBands
)

// RopeOptions are the settings of timm's build_rotary_pos_embed; the zero
// value is timm's default.
type RopeOptions struct {
	Bands       RopeBands // how the frequencies are spaced (in_pixels)
	MaxRes      int       // PixelBands: highest resolution the bands cover; 0 means 224
	Temperature float64   // FreqBands: base of the bands; 0 means 10000
	LinearBands bool      // PixelBands: linearly spaced instead of log-spaced
	// RefGrid, when non-zero, is the grid the model was trained on: the
	// coordinates of any other grid are scaled to span the same range
	// (EVA-02's ref_feat_shape scheme for running at new sizes).
	RefGrid    Grid
	GridOffset float64 // FreqBands: added to the integer coordinates
	// XY is timm's grid_indexing='xy' (the naver RoPE ViTs, Perception
	// Encoder): each row's first dim/4 frequencies take the column
	// coordinate and the next dim/4 the row, instead of row then column.
	XY bool
}

// RotaryTables returns timm's build_rotary_pos_embed(g, dim=dim): sin and
// cos tables of g.N() rows × dim values. Each row holds dim/4 frequencies
// for the row coordinate, then dim/4 for the column coordinate (the other
// way round with XY), each value
// repeated twice (repeat_interleave), ready for RopeRotate's interleaved
// pairs. dim must be a positive multiple of 4.
func RotaryTables(g Grid, dim int, o RopeOptions) (sin, cos []float32, err error) {
	if err := checkGrid(g); err != nil {
		return nil, nil, err
	}
	if dim <= 0 || dim%4 != 0 {
		return nil, nil, fmt.Errorf("posenc: rotary dim %d must be a positive multiple of 4", dim)
	}
	if err := checkTableSize("rotary table", g.N(), dim); err != nil {
		return nil, nil, err
	}
	if o.RefGrid != (Grid{}) {
		if err := checkGrid(o.RefGrid); err != nil {
			return nil, nil, fmt.Errorf("posenc: rotary reference grid: %w", err)
		}
	}
	nb := dim / 4
	var bands []float32
	var ty, tx []float32
	switch o.Bands {
	case PixelBands:
		maxRes := o.MaxRes
		if maxRes == 0 {
			maxRes = 224
		}
		if maxRes < 2 {
			return nil, nil, fmt.Errorf("posenc: rotary MaxRes %d must be at least 2", o.MaxRes)
		}
		bands = pixelFreqBands(nb, float64(maxRes), o.LinearBands)
		ty, tx = linspace32(-1, 1, g.H), linspace32(-1, 1, g.W)
	case FreqBands:
		temp := o.Temperature
		if temp == 0 {
			temp = 10000
		}
		if !(temp > 0) || math.IsInf(temp, 0) {
			return nil, nil, fmt.Errorf("posenc: rotary temperature %g must be positive and finite", o.Temperature)
		}
		if math.IsNaN(o.GridOffset) || math.IsInf(o.GridOffset, 0) {
			return nil, nil, fmt.Errorf("posenc: rotary grid offset %g must be finite", o.GridOffset)
		}
		bands = freqBands(nb, temp)
		ty, tx = arange32(g.H, float32(o.GridOffset)), arange32(g.W, float32(o.GridOffset))
	default:
		return nil, nil, fmt.Errorf("posenc: unknown rotary bands %d", o.Bands)
	}
	if o.RefGrid != (Grid{}) { // t / size · ref, in float32 as timm
		scale32(ty, g.H, o.RefGrid.H)
		scale32(tx, g.W, o.RefGrid.W)
	}
	sin = make([]float32, g.N()*dim)
	cos = make([]float32, g.N()*dim)
	for y := 0; y < g.H; y++ {
		for x := 0; x < g.W; x++ {
			r := (y*g.W + x) * dim
			axes := [2]float32{ty[y], tx[x]}
			if o.XY {
				axes[0], axes[1] = tx[x], ty[y]
			}
			for ci, t := range axes {
				for k, f := range bands {
					arg := float64(float32(t * f))
					s, c := float32(math.Sin(arg)), float32(math.Cos(arg))
					at := r + 2*(ci*nb+k)
					sin[at], sin[at+1] = s, s
					cos[at], cos[at+1] = c, c
				}
			}
		}
	}
	return sin, cos, nil
}

// pixelFreqBands is timm's pixel_freq_bands in float32.
func pixelFreqBands(n int, maxFreq float64, linear bool) []float32 {
	var b []float32
	if linear {
		b = linspace32(1, float32(maxFreq/2), n)
	} else {
		b = linspace32(0, float32(math.Log(maxFreq)/math.Log(2)-1), n)
		for i, e := range b {
			b[i] = float32(math.Pow(2, float64(e)))
		}
	}
	for i := range b {
		b[i] *= float32(math.Pi)
	}
	return b
}

// linspace32 is torch.linspace in float32 as PyTorch's CPU kernel computes
// it at its default x86 capability (AVX2; linspace_kernel in
// RangeFactoriesKernel.cpp): element i is start + step·i in the first half
// and end − step·(steps−1−i) in the second, each one rounding (the compiler
// fuses the multiply-add); but the kernel fills whole runs of 16 as two
// vectors of 8, each from that value at its first index plus j·step
// (rounded, then added). The last steps mod 16 take the scalar rule. Pixel
// RoPE angles reach hundreds of radians, so one ULP of a band or coordinate
// shows as 1e-4 in sin/cos: the exact rounding is the reference's. Checked
// against torch 1.13 (Debian, AVX2) on 3000 random ranges and lengths.
func linspace32(start, end float32, steps int) []float32 {
	out := make([]float32, steps)
	if steps == 1 {
		out[0] = start
		return out
	}
	step := (end - start) / float32(steps-1)
	scalar := func(i int) float32 { // fused: one rounding, as the compiled kernel
		if i < steps/2 {
			return float32(math.FMA(float64(step), float64(i), float64(start)))
		}
		return float32(math.FMA(-float64(step), float64(steps-i-1), float64(end)))
	}
	const lanes = 8                          // Vectorized<float>::size() under AVX2
	run := steps / (2 * lanes) * (2 * lanes) // whole pairs of vectors
	for i := 0; i < run; i += lanes {
		base := scalar(i)
		for j := 0; j < lanes; j++ {
			out[i+j] = base + float32(float32(j)*step)
		}
	}
	for i := run; i < steps; i++ {
		out[i] = scalar(i)
	}
	return out
}

func arange32(n int, offset float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(i) + offset
	}
	return out
}

func scale32(t []float32, size, ref int) {
	for i := range t {
		t[i] = float32(t[i]/float32(size)) * float32(ref)
	}
}

// Rope2D is 2-D rotary position embedding (EVA-02, RoPE-Mixed's fixed
// variant) as a Rotary: the tables of RotaryTables(g, headDim, Options),
// cached per grid, applied to q and k by the SIMD kernel RopeRotate.
type Rope2D struct {
	Options RopeOptions
	cache   perGridCache[sincosKey, [2][]float32]
}

// Tables returns the (cached) sin and cos tables for grid g and headDim.
func (r *Rope2D) Tables(g Grid, headDim int) (sin, cos []float32, err error) {
	t, err := r.cache.get(sincosKey{g, headDim}, func() ([2][]float32, error) {
		s, c, err := RotaryTables(g, headDim, r.Options)
		return [2][]float32{s, c}, err
	})
	return t[0], t[1], err
}

// Rotate applies the rotary embedding of grid g to the patch tokens of q
// and k.
func (r *Rope2D) Rotate(q, k []float32, g Grid, heads, headDim, prefix int) error {
	return rotateQK(r, q, k, g, heads, headDim, prefix)
}

// RotateQKV applies the rotary embedding of grid g to the q and k columns
// of the patch rows of a fused qkv matrix.
func (r *Rope2D) RotateQKV(qkv []float32, ld int, g Grid, heads, headDim, prefix int) error {
	return rotateQKV(r, qkv, ld, g, heads, headDim, prefix)
}

func (r *Rope2D) apply(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int) {
	kernels.RopeRotate(x, ld, sin, cos, tokens, heads, headDim)
}

// tabledRotary is a rotary embedding made of per-grid tables and the
// kernel that applies them (its pair layout): Rope2D, RopeDinoV3.
type tabledRotary interface {
	Tables(g Grid, headDim int) (sin, cos []float32, err error)
	apply(x []float32, ld int, sin, cos []float32, tokens, heads, headDim int)
}

// rotateQK is Rotate for a tabled rotary embedding: the checks, the grid's
// tables, then the patch rows of q and k (either may be nil).
func rotateQK(r tabledRotary, q, k []float32, g Grid, heads, headDim, prefix int) error {
	if err := checkRotary(heads, headDim); err != nil {
		return err
	}
	width := heads * headDim
	for _, m := range [2][]float32{q, k} {
		if m != nil {
			if err := checkTokens(m, prefix, g, width); err != nil {
				return fmt.Errorf("posenc: rotary: %w", err)
			}
		}
	}
	sin, cos, err := r.Tables(g, headDim)
	if err != nil {
		return err
	}
	for _, m := range [2][]float32{q, k} {
		if m != nil {
			r.apply(m[prefix*width:], width, sin, cos, g.N(), heads, headDim)
		}
	}
	return nil
}

// rotateQKV is RotateQKV for a tabled rotary embedding: the q and k
// columns of the patch rows of a fused qkv matrix of row stride ld.
func rotateQKV(r tabledRotary, qkv []float32, ld int, g Grid, heads, headDim, prefix int) error {
	if err := checkRotary(heads, headDim); err != nil {
		return err
	}
	if err := checkGrid(g); err != nil {
		return err
	}
	width := heads * headDim
	if prefix < 0 || prefix > maxPrefix || ld < 3*width {
		return fmt.Errorf("posenc: rotary: prefix %d and row stride %d must be non-negative and at least 3·%d·%d", prefix, ld, heads, headDim)
	}
	rows := prefix + g.N()
	if need := int64(rows-1)*int64(ld) + 3*int64(width); int64(len(qkv)) < need {
		return fmt.Errorf("posenc: rotary: qkv has %d values, need %d for %d rows of stride %d", len(qkv), need, rows, ld)
	}
	sin, cos, err := r.Tables(g, headDim)
	if err != nil {
		return err
	}
	q := qkv[prefix*ld:]
	r.apply(q, ld, sin, cos, g.N(), heads, headDim)
	r.apply(q[width:], ld, sin, cos, g.N(), heads, headDim)
	return nil
}

func checkRotary(heads, headDim int) error {
	if heads <= 0 || heads > 1<<12 {
		return fmt.Errorf("posenc: rotary: %d heads must be in 1..4096", heads)
	}
	if headDim <= 0 || headDim%4 != 0 || headDim > 1<<14 {
		return fmt.Errorf("posenc: rotary head dim %d must be a positive multiple of 4 up to 16384", headDim)
	}
	return nil
}
