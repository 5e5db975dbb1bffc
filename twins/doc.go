// Package twins runs timm's Twins-PCPVT (twins.py: twins_pcpvt_small,
// twins_pcpvt_base, twins_pcpvt_large): a pyramid of stages, each a
// non-overlapping strided patch embedding (4×4 on the image, then 2×2 on
// the previous stage's grid) with a layer norm, pre-norm blocks whose
// attention is spatially reduced (keys and values from an sr×sr strided
// convolution of the tokens plus a layer norm; sr 8, 4, 2, 1 by stage),
// and a mean-pooled head on the last stage.
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
// Output.Tokens are the last stage's rows after the final norm (timm's
// forward_features), Output.Grid that stage's grid.
package twins
