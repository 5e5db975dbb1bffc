package main

import (
	"github.com/anyres/anyres/posenc"
)

// resampleOptions turns the command-line method and antialias flags into
// posenc's options. Antialiasing exists only for bilinear and bicubic
// (nearest has none, Fourier's truncation is already an ideal low-pass), so
// the flag, true by default as in timm, is dropped for the other two.
func resampleOptions(method string, antialias bool) (posenc.ResampleOptions, error) {
	switch method {
	case "dinov2":
		return posenc.DINOv2Resample(false), nil
	case "dinov2-reg":
		return posenc.DINOv2Resample(true), nil
	case "transformers":
		return posenc.TransformersResample(), nil
	case "transformers-4.44":
		return posenc.TransformersResampleV444(), nil
	}
	m, err := posenc.ParseMethod(method)
	if err != nil {
		return posenc.ResampleOptions{}, err
	}
	return posenc.ResampleOptions{Method: m, Antialias: antialias && (m == posenc.Bicubic || m == posenc.Bilinear)}, nil
}

// resizePatchKernel resizes a patch-embedding kernel (outCh×inCh×old) to
// outCh×inCh×new by FlexiViT's pseudo-inverse resize (timm's
// resample_patch_embed).
func resizePatchKernel(kernel []float32, outCh, inCh int, old, new [2]int, method string, antialias bool) ([]float32, error) {
	opt, err := resampleOptions(method, antialias)
	if err != nil {
		return nil, err
	}
	return posenc.ResizePatchEmbed(kernel, outCh, inCh, old, new, opt)
}
