package main

import (
	"fmt"
	"image"
	"path/filepath"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/nn"
)

// hubOf reads config.json as timm's hub config, or as transformers' (whose
// id2label then names the classes); nil for neither.
func hubOf(configJSON []byte) *nn.HubConfig {
	if hub, ok := nn.ParseHub(configJSON); ok {
		return hub
	}
	if t, ok, err := nn.ParseTransformers(configJSON); ok && err == nil {
		return nn.HubFromTransformers(t)
	}
	return nil
}

// transformersOutputs adds transformers' names for the outputs of a
// transformers checkpoint (last_hidden_state, pooler_output, image_embeds,
// logits), beside anyres's own, so a pipeline reads them without renaming.
func transformersOutputs(t map[string]tensorout.Tensor, info anyres.Info, out *anyres.Output, n int) {
	hf := info.Transformers
	if hf == nil {
		return
	}
	if hf.Tokens != "" {
		t[hf.Tokens] = tensorout.F32([]int{1, n, info.Width}, out.Tokens)
	}
	for _, name := range hf.Pooled {
		if len(out.Pooled) > 0 {
			t[name] = tensorout.F32([]int{1, len(out.Pooled)}, out.Pooled)
		}
	}
	if hf.Logits != "" && len(out.Logits) > 0 {
		t[hf.Logits] = tensorout.F32([]int{1, len(out.Logits)}, out.Logits)
	}
}

// processorImage prepares the photo as the image processor does (its
// resize, crop and normalisation; -norm, when given, replaces the latter).
func processorImage(f runFlags, m anyres.Model, photo image.Image, p imageprep.Processor, norm imageprep.Norm) (imageprep.Image, string, error) {
	b := photo.Bounds()
	p.Norm = norm
	out := p.OutputSize(imageprep.Size{H: b.Dy(), W: b.Dx()})
	if n, limit := m.Tokens(out.H, out.W), m.MaxTokens(); n > limit {
		return imageprep.Image{}, "", fmt.Errorf("%s: preprocessor_config.json makes a %v input, %d tokens, over the model's limit of %d (raise -max-tokens)", f.image, out, n, limit)
	}
	x, err := p.Prepare(photo, imageprep.Limits{})
	if err != nil {
		return imageprep.Image{}, "", fmt.Errorf("%s: %w", f.image, err)
	}
	return x, fmt.Sprintf("%s: %dx%d photo, input %dx%d (%s)", filepath.Base(f.image), b.Dy(), b.Dx(), x.H, x.W, p.Type), nil
}
