// Package modelinput makes a model's input from a decoded photo by the
// sizing rules that `anyres run` and `anyres serve` share, so that the two
// cannot disagree: the photo's own size, a given size, or a token budget
// (for NaFlex models SigLIP 2's own budget rule, which they were trained
// on), refused past a token cap before any resizing, then normalised.
package modelinput

import (
	"fmt"
	"image"

	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/naflex"
	"github.com/anyres/anyres/nn"
)

// Options choose the input. Set at most one of Size and Tokens; with
// neither, the photo keeps its size (the model's edge policy then decides
// what happens past the last whole patch).
type Options struct {
	Size      imageprep.Size   // resize to exactly this size
	Tokens    int              // resize to the largest size with the photo's aspect ratio and at most Tokens patches
	Norm      imageprep.Norm   // the model's normalisation
	MaxTokens int              // refuse inputs with more tokens (prefix included); 0: no check here
	Limits    imageprep.Limits // bounds on the resize; zero fields mean imageprep.DefaultLimits
	Filter    imageprep.Filter // the resize filter; the zero value is imageprep's default
}

// Prepare sizes and normalises photo for m. An input over MaxTokens is an
// nn.ErrTooManyTokens error, one smaller than a patch an nn.ErrImage error,
// both found before resizing.
func Prepare(m nn.Net, photo image.Image, o Options) (*imageprep.Tensor, error) {
	info := m.Info()
	patch := info.Patch
	b := photo.Bounds()
	prep := imageprep.Options{Size: o.Size, Tokens: o.Tokens, Patch: min(patch[0], patch[1]), Norm: o.Norm, Limits: o.Limits, Filter: o.Filter}
	if o.Tokens > 0 && info.Family == "naflex" {
		h, w, err := naflex.SizeForTokens(b.Dy(), b.Dx(), patch, o.Tokens)
		if err != nil {
			return nil, fmt.Errorf("token budget: %w", err)
		}
		prep.Size, prep.Tokens = imageprep.Size{H: h, W: w}, 0
	}
	if prep.Tokens > 0 && patch[0] != patch[1] {
		return nil, fmt.Errorf("a token budget needs square patches; this model's are %dx%d", patch[0], patch[1])
	}
	in, err := prep.TargetSize(imageprep.Size{H: b.Dy(), W: b.Dx()})
	if err != nil {
		return nil, err
	}
	if in.H < patch[0] || in.W < patch[1] {
		return nil, fmt.Errorf("%w: input %v is smaller than one %dx%d patch", nn.ErrImage, in, patch[0], patch[1])
	}
	if g := m.Grid(in.H, in.W); o.MaxTokens > 0 && g.N()+info.Prefix > o.MaxTokens {
		return nil, fmt.Errorf("%w: a %v input is a %v grid, %d tokens, over the limit of %d", nn.ErrTooManyTokens, in, g, g.N()+info.Prefix, o.MaxTokens)
	}
	return imageprep.Prepare(photo, prep)
}
