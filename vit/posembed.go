package vit

import (
	"fmt"

	"github.com/anyres/anyres/kernels"
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

// resizeImages applies EdgeResize: each image whose sides are not whole
// patches is resized (bilinear, antialiased when shrinking, as
// torchvision's Resize) to its grid times the patch size, into the
// workspace. Unlike the rest of a forward pass this allocates (the taps).
func (ws *workspace) resizeImages() error {
	p := ws.m.patch
	for len(ws.resized) < len(ws.segs) {
		ws.resized = append(ws.resized, nil)
	}
	for i := range ws.segs {
		s := &ws.segs[i]
		h, w := s.grid.H*p[0], s.grid.W*p[1]
		if h == s.img.H && w == s.img.W {
			continue
		}
		th := kernels.InterpTaps(s.img.H, h, kernels.InterpBilinear, false, true)
		tw := kernels.InterpTaps(s.img.W, w, kernels.InterpBilinear, false, true)
		buf := grow(ws.resized[i], s.img.C*h*w)
		ws.resized[i] = buf
		for c := 0; c < s.img.C; c++ {
			kernels.Resample(1, buf[c*h*w:(c+1)*h*w], s.img.Pix[c*s.img.H*s.img.W:(c+1)*s.img.H*s.img.W], 1, th, tw)
		}
		s.img = Image{C: s.img.C, H: h, W: w, Pix: buf}
	}
	return nil
}
