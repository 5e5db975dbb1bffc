package imageprep

import (
	"fmt"
	"image"
	"math"
	"strconv"
	"strings"
)

// MaxTokens bounds a token budget: a million patches is far beyond any
// ViT's reach and keeps the search in BudgetSize short.
const MaxTokens = 1 << 20

// Size is an image size in pixels: H rows by W columns.
type Size struct {
	H, W int
}

func (s Size) String() string { return fmt.Sprintf("%dx%d", s.H, s.W) }

// ParseSize reads "HxW" (also "H×W" or "H,W"), or a single number for a square.
func ParseSize(s string) (Size, error) {
	t := strings.NewReplacer("×", "x", "X", "x", ",", "x").Replace(strings.TrimSpace(s))
	parts := strings.Split(t, "x")
	if len(parts) == 1 {
		parts = append(parts, parts[0])
	}
	if len(parts) != 2 {
		return Size{}, fmt.Errorf("size %q: want HxW, e.g. 384x512", s)
	}
	h, err1 := strconv.Atoi(parts[0])
	w, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || h <= 0 || w <= 0 {
		return Size{}, fmt.Errorf("size %q: want two positive whole numbers, HxW, e.g. 384x512", s)
	}
	// Refuse now what resizing would refuse later (DefaultLimits).
	if err := DefaultLimits.orDefault().checkImage(fmt.Sprintf("size %q", s), h, w); err != nil {
		return Size{}, err
	}
	return Size{H: h, W: w}, nil
}

// BudgetSize returns the largest size with the aspect ratio of an h×w image
// whose grid of patch×patch patches holds at most tokens tokens. Both sides
// of the result are whole multiples of patch, so no edge policy is needed;
// the aspect ratio is kept to within half a patch on one side. Among grids with
// the same token count it takes the one closest to the image's aspect ratio.
// Images far more elongated than the budget allows get a grid one patch
// thick. The result may be larger than the image (it is then upscaled).
func BudgetSize(h, w, patch, tokens int) (Size, error) {
	if h <= 0 || w <= 0 || patch <= 0 || tokens <= 0 {
		return Size{}, fmt.Errorf("imageprep: token budget for a %d×%d image, patch %d, %d tokens: all must be positive", h, w, patch, tokens)
	}
	if tokens > MaxTokens {
		return Size{}, fmt.Errorf("imageprep: token budget %d is over the %d-token limit", tokens, MaxTokens)
	}
	aspect := float64(w) / float64(h)
	best, bestN, bestErr := Size{}, 0, math.Inf(1)
	consider := func(gh, gw int) {
		if gh < 1 || gw < 1 || gh*gw > tokens {
			return
		}
		e := math.Abs(math.Log(float64(gw) / float64(gh) / aspect))
		if n := gh * gw; n > bestN || (n == bestN && e < bestErr) {
			best, bestN, bestErr = Size{H: gh, W: gw}, n, e
		}
	}
	// Round one side from the other, both ways round: every grid within half
	// a patch of the aspect ratio on one side is a candidate.
	for g := 1; g <= tokens; g++ {
		consider(g, max(1, int(math.Round(float64(g)*aspect))))
		consider(max(1, int(math.Round(float64(g)/aspect))), g)
	}
	if bestN == 0 { // wider than the budget: one row of patches
		best = Size{H: 1, W: min(tokens, max(1, int(math.Round(aspect))))}
	}
	out := Size{H: best.H * patch, W: best.W * patch}
	if int64(out.H)*int64(out.W) > MaxPixels {
		return Size{}, fmt.Errorf("imageprep: %d tokens of %d×%d pixels is over the %d-pixel limit", tokens, patch, patch, MaxPixels)
	}
	return out, nil
}

// Options choose how Prepare sizes and normalises an image. Set at most one
// of Size and Tokens; with neither, the image keeps its native size.
type Options struct {
	Size   Size       // resize to exactly this size (aspect ratio not kept)
	Tokens int        // resize to the largest size with the same aspect ratio whose grid holds at most Tokens patches (by Budget)
	Budget BudgetRule // how Tokens sizes the image: the model's rule (nn.Info.Budget); the zero value is BudgetSize's
	Patch  int        // patch side in pixels: needed with Tokens; when set, images smaller than one patch are refused
	Norm   Norm       // per-channel normalisation; the zero Norm is refused, use Identity for none
	Filter Filter     // the resize's filter (Bicubic, the zero value: Catmull-Rom)
	Limits Limits     // bounds on the source, the target and the resizer's temporary; zero fields mean DefaultLimits
}

// TargetSize returns the size Prepare resizes an image of size src to.
func (o Options) TargetSize(src Size) (Size, error) {
	switch {
	case o.Size != (Size{}) && o.Tokens != 0:
		return Size{}, fmt.Errorf("imageprep: choose a target size or a token budget, not both")
	case o.Tokens < 0:
		return Size{}, fmt.Errorf("imageprep: token budget %d must be positive", o.Tokens)
	case o.Tokens > 0:
		if o.Patch <= 0 {
			return Size{}, fmt.Errorf("imageprep: a token budget needs the patch size")
		}
		return o.Budget.Size(src.H, src.W, o.Patch, o.Tokens)
	case o.Size != (Size{}):
		if o.Size.H <= 0 || o.Size.W <= 0 {
			return Size{}, fmt.Errorf("imageprep: target size %v must be positive", o.Size)
		}
		return o.Size, nil
	}
	return src, nil
}

// Prepare resizes img as the options say and converts it to a normalised
// 3×H×W tensor.
func Prepare(img image.Image, o Options) (Image, error) {
	b := img.Bounds()
	src := Size{H: b.Dy(), W: b.Dx()}
	if src.H <= 0 || src.W <= 0 {
		return Image{}, fmt.Errorf("imageprep: image is empty (%v)", src)
	}
	l := o.Limits.orDefault()
	if err := l.checkImage("image", src.H, src.W); err != nil {
		return Image{}, err
	}
	dst, err := o.TargetSize(src)
	if err != nil {
		return Image{}, err
	}
	if o.Patch > 0 && (dst.H < o.Patch || dst.W < o.Patch) {
		what := "image"
		if dst != src {
			what = "target size"
		}
		return Image{}, fmt.Errorf("imageprep: %s %v is smaller than one %d×%d patch; choose a larger size or a token budget", what, dst, o.Patch, o.Patch)
	}
	if dst != src {
		r, err := l.ResizeFilter(img, dst.H, dst.W, o.Filter)
		if err != nil {
			return Image{}, err
		}
		img = r
	}
	return toImage(img, o.Norm, l)
}
