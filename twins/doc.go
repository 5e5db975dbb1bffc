// Package twins runs timm's Twins (twins.py): Twins-PCPVT
// (twins_pcpvt_small, _base, _large) and Twins-SVT (twins_svt_small,
// _base, _large). Both are a pyramid of stages, each a non-overlapping
// strided patch embedding (4×4 on the image, then 2×2 on the previous
// stage's grid) with a layer norm, then pre-norm blocks, and a mean-pooled
// head on the last stage.
//
// PCPVT's blocks all run global sub-sampled attention: keys and values
// from an sr×sr strided convolution of the tokens plus a layer norm (sr 8,
// 4, 2, 1 by stage; a grid sr does not divide loses its remainder, as the
// convolution drops it). SVT alternates: its even blocks run
// locally-grouped attention within ws×ws windows (a fused qkv; the grid is
// zero-padded at the bottom and right to whole windows after norm1 and,
// as in timm, not masked: padding tokens, whose q, k, v are qkv's bias,
// take part in every softmax of their windows), its odd blocks global
// sub-sampled attention.
//
// Position: no table at all. Each stage's first block is followed by a
// conditional position encoding (CPVT's PEG, timm's PosConv: a depthwise
// 3×3 convolution with zero padding, added to the tokens), so position
// comes from the zero border and the image content and is defined on any
// grid: Twins runs at any image size with nothing to resample, and off its
// 224² training size it changes only as a convolutional network does. The
// smallest image is the one whose first-stage grid still covers one
// spatial-reduction window (32×32 pixels for the timm models).
//
// ForwardBatch packs images into one pass (every phase's work items cover
// all of them), each image tiled as when alone, so its outputs are bit for
// bit those of Forward.
//
// Output.Tokens are the last stage's rows after the final norm (timm's
// forward_features), Output.Grid that stage's grid.
package twins
