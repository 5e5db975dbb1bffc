// Package sam runs the image encoder of Meta's Segment Anything Model as
// timm has it (vision_transformer_sam.py: samvit_base_patch16,
// samvit_large_patch16, samvit_huge_patch16): a plain ViT over NHWC patch
// tokens without a class token, whose blocks attend within 14×14 windows
// except a few global ones (global_attn_indexes), followed by a neck
// (1×1 conv, LayerNorm2d, 3×3 conv, LayerNorm2d) that gives the features.
//
// Position comes from two places. A learned absolute table (pos_embed,
// H×W×C) is resampled to each image's grid (bicubic, antialiased: timm's
// resample_abs_pos_embed_nhwc). Every block also adds a decomposed
// relative position to its attention logits (posenc.DecomposedRelPos):
// per-axis tables of 2·size−1 rows, q·R_h[Δy] + q·R_w[Δx], resized by
// linear interpolation to the grid of a global block (a windowed block's
// grid is its window, whatever the image).
//
// Windows: the grid is zero-padded at the bottom and right to whole
// windows after norm1 (no mask: padded tokens, whose q, k and v are the
// qkv bias, take part in the softmax) and cropped after attention
// (nn.Windows). Any image whose sides are multiples of the patch runs, as
// in timm; other sizes follow the edge policy (crop by default, as the
// strided patch convolution does, or pad).
//
// Output.Tokens are the neck's features as rows of the patch grid
// (channels last: timm's NCHW forward_features transposed), Output.Pooled
// their mean (timm's avg pool head without classes).
package sam
