// Package modelinput makes a model's input from a decoded photo by the
// sizing rules that `anyres run` and `anyres serve` share, so that the two
// cannot disagree: the photo's own size, a given size, or a token budget
// (by the model's own rule, Info.Input.Budget: SigLIP 2's for NaFlex
// models), refused past a token cap before any resizing, then normalised
// (by Options.Norm, else the model's Info.Input.Norm).
package modelinput

import (
	"fmt"
	"image"

	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/nn"
)

// Options choose the input. Set at most one of Size and Tokens; with
// neither, the photo keeps its size (the model's edge policy then decides
// what happens past the last whole patch).
type Options struct {
	Size      imageprep.Size   // resize to exactly this size
	Tokens    int              // resize to the largest size with the photo's aspect ratio and at most Tokens patches
	Norm      imageprep.Norm   // replaces the model's normalisation (Info.Input.Norm) when set
	MaxTokens int              // refuse inputs that count more tokens (nn.Net.Tokens); 0: the model's own cap
	Limits    imageprep.Limits // bounds on the resize; zero fields mean imageprep.DefaultLimits
	Filter    imageprep.Filter // the resize filter; the zero value is imageprep's default
}

// Prepare sizes and normalises photo for m. An input over MaxTokens is an
// nn.ErrTooManyTokens error, one smaller than a patch an nn.ErrImage error,
// both found before resizing.
func Prepare(m nn.Net, photo image.Image, o Options) (imageprep.Image, error) {
	info := m.Info()
	patch := info.Patch
	b := photo.Bounds()
	prep := info.Prep(imageprep.Options{Size: o.Size, Tokens: o.Tokens, Norm: o.Norm, Limits: o.Limits, Filter: o.Filter})
	if prep.Tokens > 0 && patch[0] != patch[1] {
		return imageprep.Image{}, fmt.Errorf("a token budget needs square patches; this model's are %dx%d", patch[0], patch[1])
	}
	in, err := prep.TargetSize(imageprep.Size{H: b.Dy(), W: b.Dx()})
	if err != nil {
		return imageprep.Image{}, err
	}
	if in.H < patch[0] || in.W < patch[1] {
		return imageprep.Image{}, fmt.Errorf("%w: input %v is smaller than one %dx%d patch", nn.ErrImage, in, patch[0], patch[1])
	}
	// The model counts its tokens in the unit its cap checks (Swin its
	// first-stage patches, a ViT its prefix and patches).
	limit := o.MaxTokens
	if limit <= 0 {
		limit = m.MaxTokens()
	}
	if n := m.Tokens(in.H, in.W); limit > 0 && n > limit {
		return imageprep.Image{}, fmt.Errorf("%w: a %v input counts %d tokens, over the limit of %d", nn.ErrTooManyTokens, in, n, limit)
	}
	return imageprep.Prepare(photo, prep)
}
