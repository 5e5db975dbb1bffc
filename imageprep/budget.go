package imageprep

import (
	"fmt"
	"math"
)

// BudgetRule is how a model sizes an image under a token budget
// (Options.Tokens). A model names its own in nn.Info.Budget: the rule it
// was trained with.
type BudgetRule int

const (
	// BudgetAspect is BudgetSize: the largest grid within half a patch of
	// the image's aspect ratio. Most models' rule; the zero value.
	BudgetAspect BudgetRule = iota
	// BudgetNaFlex is NaFlexSize: SigLIP 2's NaFlex processor's rule.
	BudgetNaFlex
)

func (r BudgetRule) String() string {
	switch r {
	case BudgetAspect:
		return "aspect"
	case BudgetNaFlex:
		return "naflex"
	}
	return fmt.Sprintf("BudgetRule(%d)", int(r))
}

// Size returns the size an h×w image is resized to under a budget of
// tokens patch×patch patches by the rule.
func (r BudgetRule) Size(h, w, patch, tokens int) (Size, error) {
	switch r {
	case BudgetAspect:
		return BudgetSize(h, w, patch, tokens)
	case BudgetNaFlex:
		return NaFlexSize(h, w, patch, tokens)
	}
	return Size{}, fmt.Errorf("imageprep: unknown token budget rule %d", int(r))
}

// NaFlexSize returns the size SigLIP 2's NaFlex processor resizes an h×w
// image to for a budget of at most tokens patch×patch patches (Hugging
// Face's get_image_size_for_max_num_patches; timm's get_image_size_for_seq
// is the same search): a scale s is bisected on [1e-6, 100] down to an
// interval of 1e-5, each side becomes p·⌈side·s/p⌉ (at least one patch), and
// the largest s whose grid holds at most tokens patches wins. Both sides are
// whole patches; the aspect ratio is kept up to that rounding up, and the
// image may grow (a small image under a large budget is upscaled).
//
// This is not BudgetSize, which keeps the aspect ratio to within half a
// patch on one side: the two differ for about 45% of photo sizes. For a
// 100×223 image under 256 patches of 16, SigLIP 2 takes 176×368 (11×23 =
// 253 patches), BudgetSize 160×368 (230). Use this one to feed a SigLIP 2
// NaFlex model as it was trained (BudgetNaFlex).
func NaFlexSize(h, w, patch, tokens int) (Size, error) {
	if h <= 0 || w <= 0 || patch <= 0 || tokens <= 0 {
		return Size{}, fmt.Errorf("imageprep: token budget for a %d×%d image, patch %d, %d patches: all must be positive", h, w, patch, tokens)
	}
	if tokens > MaxTokens {
		return Size{}, fmt.Errorf("imageprep: token budget %d is over the %d-token limit", tokens, MaxTokens)
	}
	side := func(s float64, n int) int {
		return max(patch, int(float64(patch)*math.Ceil(float64(n)*s/float64(patch))))
	}
	fits := func(s float64) bool {
		return (side(s, h)/patch)*(side(s, w)/patch) <= tokens
	}
	const eps = 1e-5
	lo, hi := eps/10, 100.0
	for hi-lo >= eps {
		mid := (lo + hi) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	out := Size{H: side(lo, h), W: side(lo, w)}
	if int64(out.H)*int64(out.W) > MaxPixels {
		return Size{}, fmt.Errorf("imageprep: %d tokens of %d×%d pixels is over the %d-pixel limit", tokens, patch, patch, MaxPixels)
	}
	return out, nil
}
