package naflex

import (
	"fmt"
	"math"
)

// MaxBudget bounds the token budget SizeForTokens accepts.
const MaxBudget = 1 << 20

// SizeForTokens returns the size SigLIP 2's NaFlex processor resizes an
// h×w image to for a budget of at most maxPatches patches (Hugging Face's
// get_image_size_for_max_num_patches; timm's get_image_size_for_seq is the
// same search): a scale s is bisected on [1e-6, 100] down to an interval of
// 1e-5, each side becomes p·⌈side·s/p⌉ (at least one patch), and the largest
// s whose grid holds at most maxPatches patches wins. Both sides are whole
// patches; the aspect ratio is kept up to that rounding up, and the image
// may grow (a small image under a large budget is upscaled).
//
// This is not imageprep.BudgetSize (imageprep.Options.Tokens), which keeps
// the aspect ratio to within half a patch on one side: the two differ for
// about 45% of photo sizes. For a 100×223 image under 256 patches of 16,
// SigLIP 2 takes 176×368 (11×23 = 253 patches), BudgetSize 160×368 (230).
// Use this one to feed a SigLIP 2 NaFlex model as it was trained.
func SizeForTokens(h, w int, patch [2]int, maxPatches int) (H, W int, err error) {
	ph, pw := patch[0], patch[1]
	if h <= 0 || w <= 0 || ph <= 0 || pw <= 0 || maxPatches <= 0 {
		return 0, 0, fmt.Errorf("naflex: token budget for a %d×%d image, patch %v, %d patches: all must be positive", h, w, patch, maxPatches)
	}
	if maxPatches > MaxBudget {
		return 0, 0, fmt.Errorf("naflex: token budget %d is over the %d-patch limit", maxPatches, MaxBudget)
	}
	side := func(s float64, n, p int) int {
		return max(p, int(float64(p)*math.Ceil(float64(n)*s/float64(p))))
	}
	fits := func(s float64) bool {
		return (side(s, h, ph)/ph)*(side(s, w, pw)/pw) <= maxPatches
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
	return side(lo, h, ph), side(lo, w, pw), nil
}

// SizeForTokens is SizeForTokens at the model's patch size.
func (m *Model) SizeForTokens(h, w, maxPatches int) (H, W int, err error) {
	return SizeForTokens(h, w, m.cfg.PatchSize, maxPatches)
}
