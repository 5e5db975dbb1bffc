package posenc

// TransformersResample returns how Hugging Face transformers ≥ 4.45 resizes
// a ViT's position table (interpolate_pos_encoding of ViT, DeiT, Dinov2,
// SigLIP, and CLIP from 4.46): F.interpolate to the target grid, bicubic,
// align_corners=False, without antialias. Like transformers, a Learned
// table is used unchanged at its own grid.
func TransformersResample() ResampleOptions { return ResampleOptions{Method: Bicubic} }

// TransformersResampleV444 returns the rule of transformers ≤ 4.44:
// F.interpolate with scale_factor ((h+0.1)/√N, (w+0.1)/√N), bicubic,
// without antialias, so the output is still h×w but every sample sits a
// little off (the source coordinate is (i+0.5)·√N/(h+0.1) − 0.5).
// Checkpoints whose outputs were made with those versions need it.
func TransformersResampleV444() ResampleOptions {
	return ResampleOptions{Method: Bicubic, ScaleOffset: 0.1}
}
