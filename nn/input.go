package nn

import "github.com/anyres/anyres/imageprep"

// Input is what a model expects of the image it is given: the
// normalisation it was trained with and how a token budget sizes the image.
// The front door fills it from the checkpoint (a transformers folder's
// preprocessor_config.json, timm's pretrained_cfg mean and std) or the
// family's default, passes it in RunOptions.Input, and the model reports it
// in Info.Input, so every caller (the command, serve, a Go program)
// prepares images the same way.
type Input struct {
	// Norm is the per-channel normalisation of pixels in [0, 1].
	Norm imageprep.Norm
	// NormFrom says where Norm came from: "preprocessor_config.json",
	// "config.json" (pretrained_cfg mean and std), or "default" (the
	// family's default for the architecture); "" for a model built
	// without the front door.
	NormFrom string
	// Budget is the rule a token budget (imageprep.Options.Tokens) sizes
	// an image by: SigLIP 2's for NaFlex models, else imageprep.BudgetSize.
	Budget imageprep.BudgetRule
	// Processor is a transformers folder's image processor (its resize,
	// crop and normalisation, Norm being the same), nil for none.
	Processor *imageprep.Processor
}

// Prep returns o with the model's input rules filled in: the patch size
// (the shorter side of a non-square patch), Norm when o has none, and the
// budget rule. imageprep.Prepare(photo, info.Prep(imageprep.Options{}))
// is the model's input at the photo's own size; set o.Tokens or o.Size to
// resize it.
func (i Info) Prep(o imageprep.Options) imageprep.Options {
	if o.Patch == 0 {
		o.Patch = min(i.Patch[0], i.Patch[1])
	}
	if o.Norm == (imageprep.Norm{}) {
		o.Norm = i.Input.Norm
	}
	o.Budget = i.Input.Budget
	return o
}
