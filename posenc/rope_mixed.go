package posenc

import (
	"fmt"
	"math"

	"github.com/anyres/anyres/kernels"
)

// RopeMixed is RoPE-Mixed (Heo et al., "Rotary Position Embedding for
// Vision Transformer", naver-ai/rope-vit; timm's RotaryEmbeddingMixed):
// 2-D rotary embedding whose frequencies are learned, per block and per
// head, as a 2-D vector each. Pair k of head h in block b turns by
//
//	θ = tx·fx[b,h,k] + ty·fy[b,h,k]
//
// (float32, as timm), where (tx, ty) are the integer coordinates of the
// patch — with timm's "xy" grid indexing tx is the column and ty the row;
// with "ij" tx is the row and ty the column. The angles mix both axes, so
// unlike axial RoPE (Rope2D) a head can attend along diagonals.
//
// Positions are plain integers, so at any grid a pair of patches is
// rotated by the same relative angle as at the training grid: there is
// nothing to resample, and the model extrapolates to larger grids by
// meeting relative offsets it never saw in training.
//
// One RopeMixed holds every block's frequencies; Layer(b) is block b's
// Rotary. The sin and cos tables of a grid (depth × heads × N × headDim
// values each) are built once for all blocks and cached for the most
// recent RopeMixedCacheGrids grids.
type RopeMixed struct {
	freqs                 []float32 // 2 × depth × heads × headDim/2, timm's rope.freqs
	depth, heads, headDim int
	xy                    bool
	cache                 perGridCache[Grid, *mixedTables]
}

// RopeMixedCacheGrids bounds the grids a RopeMixed keeps tables for: the
// tables of one grid are 8·depth·N·width bytes (14 MB for ViT-B/16 at
// 224²), so fewer grids are kept than by the other encodings.
const RopeMixedCacheGrids = 4

// mixedTables are the sin and cos of one grid: depth × heads × N × headDim.
type mixedTables struct {
	sin, cos []float32
	n        int
}

// NewRopeMixed wraps timm's rope.freqs (shape 2 × depth × heads ×
// headDim/2: the x frequencies, then the y frequencies). xy selects timm's
// grid_indexing "xy" (the naver checkpoints' setting) instead of "ij".
func NewRopeMixed(freqs []float32, depth, heads, headDim int, xy bool) (*RopeMixed, error) {
	if depth <= 0 || depth > 1<<12 {
		return nil, fmt.Errorf("posenc: mixed rotary: depth %d must be in 1..4096", depth)
	}
	if err := checkRotary(heads, headDim); err != nil {
		return nil, fmt.Errorf("posenc: mixed rotary: %w", err)
	}
	if want := 2 * depth * heads * headDim / 2; len(freqs) != want {
		return nil, fmt.Errorf("posenc: mixed rotary frequencies have %d values, want 2×%d blocks×%d heads×%d = %d",
			len(freqs), depth, heads, headDim/2, want)
	}
	for i, f := range freqs {
		if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return nil, fmt.Errorf("posenc: mixed rotary frequency %d is %g", i, f)
		}
	}
	r := &RopeMixed{freqs: freqs, depth: depth, heads: heads, headDim: headDim, xy: xy}
	r.cache.limit = RopeMixedCacheGrids
	return r, nil
}

// Depth is the number of blocks the frequencies are for.
func (r *RopeMixed) Depth() int { return r.depth }

// Layer returns block b's rotary embedding (b in [0, Depth())).
func (r *RopeMixed) Layer(b int) Rotary { return &ropeMixedLayer{r: r, block: b} }

// Tables returns the cached sin and cos tables of grid g for block b and
// head h: g.N() rows of headDim values, each value twice (interleaved
// pairs), as RopeRotate takes them. They are timm's get_embed(shape)[b, h]
// split into its sin and cos halves.
func (r *RopeMixed) Tables(g Grid, b, h int) (sin, cos []float32, err error) {
	if b < 0 || b >= r.depth || h < 0 || h >= r.heads {
		return nil, nil, fmt.Errorf("posenc: mixed rotary: block %d, head %d outside %d×%d", b, h, r.depth, r.heads)
	}
	t, err := r.tables(g)
	if err != nil {
		return nil, nil, err
	}
	size := t.n * r.headDim
	at := (b*r.heads + h) * size
	return t.sin[at : at+size], t.cos[at : at+size], nil
}

func (r *RopeMixed) tables(g Grid) (*mixedTables, error) {
	if err := checkGrid(g); err != nil {
		return nil, err
	}
	return r.cache.get(g, func() (*mixedTables, error) {
		n := g.N()
		if err := checkTableSize("mixed rotary tables", n, r.depth*r.heads*r.headDim); err != nil {
			return nil, err
		}
		t := &mixedTables{n: n, sin: make([]float32, r.depth*r.heads*n*r.headDim), cos: make([]float32, r.depth*r.heads*n*r.headDim)}
		half := r.headDim / 2
		fy0 := r.depth * r.heads * half // where the y frequencies start
		for b := 0; b < r.depth; b++ {
			for h := 0; h < r.heads; h++ {
				f := (b*r.heads + h) * half
				fx, fy := r.freqs[f:f+half], r.freqs[fy0+f:fy0+f+half]
				base := (b*r.heads + h) * n * r.headDim
				for i := 0; i < n; i++ {
					row, col := float32(i/g.W), float32(i%g.W)
					tx, ty := row, col // "ij": meshgrid(arange(H), arange(W))
					if r.xy {
						tx, ty = col, row
					}
					s, c := t.sin[base+i*r.headDim:], t.cos[base+i*r.headDim:]
					for k := 0; k < half; k++ {
						// freqs_x + freqs_y, each product rounded to float32.
						arg := float32(tx*fx[k]) + float32(ty*fy[k])
						sv, cv := math.Sincos(float64(arg))
						s[2*k], s[2*k+1] = float32(sv), float32(sv)
						c[2*k], c[2*k+1] = float32(cv), float32(cv)
					}
				}
			}
		}
		return t, nil
	})
}

// ropeMixedLayer is one block's view of a RopeMixed.
type ropeMixedLayer struct {
	r     *RopeMixed
	block int
}

func (l *ropeMixedLayer) check(heads, headDim int) error {
	if heads != l.r.heads || headDim != l.r.headDim {
		return fmt.Errorf("posenc: mixed rotary is for %d heads of %d, got %d of %d", l.r.heads, l.r.headDim, heads, headDim)
	}
	if l.block < 0 || l.block >= l.r.depth {
		return fmt.Errorf("posenc: mixed rotary: block %d outside its %d blocks", l.block, l.r.depth)
	}
	return nil
}

// Rotate rotates the patch tokens of q and k (either may be nil).
func (l *ropeMixedLayer) Rotate(q, k []float32, g Grid, heads, headDim, prefix int) error {
	if err := l.check(heads, headDim); err != nil {
		return err
	}
	width := heads * headDim
	for _, m := range [2][]float32{q, k} {
		if m != nil {
			if err := checkTokens(m, prefix, g, width); err != nil {
				return fmt.Errorf("posenc: mixed rotary: %w", err)
			}
		}
	}
	t, err := l.r.tables(g)
	if err != nil {
		return err
	}
	for _, m := range [2][]float32{q, k} {
		if m != nil {
			l.apply(m[prefix*width:], width, t)
		}
	}
	return nil
}

// RotateQKV rotates the q and k columns of the patch rows of a fused qkv
// matrix.
func (l *ropeMixedLayer) RotateQKV(qkv []float32, ld int, g Grid, heads, headDim, prefix int) error {
	if err := l.check(heads, headDim); err != nil {
		return err
	}
	if err := checkGrid(g); err != nil {
		return err
	}
	width := heads * headDim
	if prefix < 0 || prefix > maxPrefix || ld < 3*width {
		return fmt.Errorf("posenc: mixed rotary: prefix %d and row stride %d must be non-negative and at least 3·%d·%d", prefix, ld, heads, headDim)
	}
	rows := prefix + g.N()
	if need := int64(rows-1)*int64(ld) + 3*int64(width); int64(len(qkv)) < need {
		return fmt.Errorf("posenc: mixed rotary: qkv has %d values, need %d for %d rows of stride %d", len(qkv), need, rows, ld)
	}
	t, err := l.r.tables(g)
	if err != nil {
		return err
	}
	q := qkv[prefix*ld:]
	l.apply(q, ld, t)
	l.apply(q[width:], ld, t)
	return nil
}

// apply rotates every head of t.n rows of x (row stride ld) with this
// block's tables.
func (l *ropeMixedLayer) apply(x []float32, ld int, t *mixedTables) {
	hd := l.r.headDim
	size := t.n * hd
	for h := 0; h < l.r.heads; h++ {
		at := (l.block*l.r.heads + h) * size
		kernels.RopeRotate(x[h*hd:], ld, t.sin[at:at+size], t.cos[at:at+size], t.n, 1, hd)
	}
}
