// Package naflex runs timm's NaFlexVit (naflexvit.py): the Vision
// Transformer of SigLIP 2's NaFlex variant (naflexvit_base_patch16_siglip,
// naflexvit_so400m_patch16_siglip) and timm's other naflexvit_* models with a
// learned table, each image at its own aspect ratio and size.
//
// Position: a learned 2-D table (embeds.pos_embed, stored as a grid, 16×16
// for the SigLIP 2 models) for the patch tokens only, resampled per image to
// that image's own patch grid — F.interpolate straight to the grid (not
// padded or cropped), bicubic as timm 1.0.29 does for every naflexvit model
// (model_args.pos_embed_interp_mode overrides it; newer timm and Hugging
// Face's Siglip2 use bilinear for SigLIP 2), antialias on, align_corners
// off — cached per grid.
// timm's aspect-preserving models (naflexvit_*_par_*) resample it to the
// square of the grid's longer side instead and take its top-left corner.
// Off its training grid the table is stretched, each axis on its own, so an
// image keeps its aspect ratio and every token its relative place; NaFlex was
// trained that way on many grids, so it degrades gracefully.
//
// The patch embedding is a linear layer over channels-last patches (ph·pw·C);
// anyres permutes it to a convolution kernel, so images run as in any ViT.
// Image sides that are not whole patches are cropped by default (timm
// refuses such images unless the model pads: dynamic_img_pad).
// Pre-patchified input, timm's padded NaFlex batch (patches, patch_coord,
// patch_valid), runs through ForwardPatches: each image's valid patches
// become one segment of anyres's packed, block-diagonal sequence, so no
// padding row is ever computed. Info.Budget is imageprep.BudgetNaFlex: a
// token budget sizes an image as SigLIP 2's processor does.
package naflex
