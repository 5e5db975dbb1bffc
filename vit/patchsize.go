package vit

import (
	"fmt"

	"github.com/anyres/anyres/posenc"
)

// resampleOptions are the options for position tables and patch kernels:
// timm's defaults (bicubic, antialias) unless Options.Resample says otherwise.
func resampleOptions(o *posenc.ResampleOptions) posenc.ResampleOptions {
	if o == nil {
		return posenc.DefaultResampleOptions()
	}
	return *o
}

// resizePatchKernel resizes the stored patch-embedding kernel to patch
// size p by FlexiViT's pseudo-inverse resize (timm resample_patch_embed).
func resizePatchKernel(kernel []float32, c Config, p [2]int, opt posenc.ResampleOptions) ([]float32, error) {
	k, err := posenc.ResizePatchEmbed(kernel, c.EmbedDim, c.Channels(), c.PatchSize, p, opt)
	if err != nil {
		return nil, fmt.Errorf("%w: patch kernel %v → %v: %v", ErrConfig, c.PatchSize, p, err)
	}
	return k, nil
}
