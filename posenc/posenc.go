// Package posenc tells tokens where they are, for any grid of patches.
//
// A Vision Transformer sees an image as an H×W grid of patch tokens, plus a
// few prefix tokens (class, registers) that have no place on the grid. The
// grid size is a runtime value: every encoding here works for any H and W,
// whether it was learned at another size (and is resampled), is a fixed
// function of position, or is computed from the tokens themselves.
//
// Encodings act at one of three places in the model, and implement the
// matching interface:
//
//   - Encoder, added to (or computed from) the token matrix after patch
//     embedding: Learned (timm's pos_embed, resampled to the grid), SinCos
//     (fixed 2-D sin-cos), CoordMLP (an MLP of the (x, y) coordinates), PEG
//     (CPVT's depthwise-convolution generator) and None.
//   - AttentionBias, added to the attention logits before the softmax:
//     RelPosBias (Swin and BEiT's relative position bias tables) and CPB
//     (SwinV2's continuous position bias, an MLP of log-spaced coordinates).
//   - Rotary, rotating q and k inside attention: Rope2D (EVA-02's axial
//     2-D RoPE) and RopeMixed (RoPE-Mixed's learned per-block, per-head
//     frequencies).
//
// Beneath them are the table builders, usable on their own and checked
// against timm and PyTorch: ResampleGrid, ResampleAbsPosEmbed and
// ResampleTaps (F.interpolate's nearest, bilinear and bicubic, with
// antialias and align_corners, or Fourier resampling; see ResampleOptions),
// ResizePatchEmbed (FlexiViT's pseudo-inverse resize of patch-embedding
// kernels), SinCos2DTable, CoordFeatures, RotaryTables,
// RelativePositionIndex, ResizeRelPosTable and RelativeLogCoords.
//
// Encodings that build tables cache them per grid (the most recent 16);
// all are safe for concurrent use. Bad shapes and sizes from outside return
// errors; the SIMD work is done by package kernels.
package posenc

import "fmt"

// Grid is the patch grid of one image: H rows by W columns of patch tokens.
type Grid struct {
	H, W int
}

// N is the number of patch tokens.
func (g Grid) N() int { return g.H * g.W }

// String returns g as "H×W".
func (g Grid) String() string { return fmt.Sprintf("%d×%d", g.H, g.W) }

// Validate reports whether g is a usable grid.
func (g Grid) Validate() error {
	if g.H <= 0 || g.W <= 0 {
		return fmt.Errorf("posenc: grid %d×%d: sizes must be positive", g.H, g.W)
	}
	return nil
}

// Encoder adds position information to the tokens of one image.
//
// x holds prefix tokens followed by g.N() patch tokens in row-major grid
// order, each row dim wide: (prefix + g.N())×dim values. AddTo changes x in
// place and is safe for concurrent use (encoders that cache per-grid tables
// synchronise internally).
type Encoder interface {
	// AddTo adds the encoding for grid g to x, in place.
	AddTo(x []float32, prefix int, g Grid, dim int) error
}

// None is the encoding of models that rely on attention alone (and of
// variable-length sequences with no grid): it leaves tokens unchanged.
type None struct{}

// AddTo checks the shape and does nothing else.
func (None) AddTo(x []float32, prefix int, g Grid, dim int) error {
	return CheckTokens(x, prefix, g, dim)
}

// CheckTokens validates the token matrix shape shared by every Encoder.
func CheckTokens(x []float32, prefix int, g Grid, dim int) error {
	if err := g.Validate(); err != nil {
		return err
	}
	if prefix < 0 || dim <= 0 {
		return fmt.Errorf("posenc: prefix %d and dim %d must be non-negative and positive", prefix, dim)
	}
	if want := (prefix + g.N()) * dim; len(x) != want {
		return fmt.Errorf("posenc: token matrix has %d values, want (%d prefix + %s grid)·%d = %d",
			len(x), prefix, g, dim, want)
	}
	return nil
}
