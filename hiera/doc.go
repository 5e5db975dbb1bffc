// Package hiera runs timm's Hiera (hiera.py) with an absolute windowed
// position table (abs_win_pos_embed: hiera_small_abswin_256,
// hiera_base_abswin_256, or any Hiera built with it): a 7×7 stride-4 patch
// convolution, then stages of blocks whose tokens stay in timm's
// "unrolled" order: the q_stride offsets of every later halving moved to
// the front, so that a mask unit's tokens are every units-th row and a 2×2
// max-pool is the max over four contiguous quarters.
//
// Attention is within mask units (8×8 tokens at first, shrinking with
// every pooling; timm's mask_unit_attn, lagging one block behind each
// stage) or global. At each stage's first block the queries and the
// residual (widened by a projection, or max and mean pools side by side)
// are max-pooled 2×2. The head is the mean of the last tokens, a layer
// norm and the classifier.
//
// Position: pos_embed (a global table, 8×8 or 16×16) resized to the token
// grid by bicubic antialiased interpolation, plus pos_embed_win (one mask
// unit) tiled over it; both are summed before they are added. timm builds
// a model per size; here one model runs every size whose token grid the
// mask units and poolings tile (images in multiples of 32 pixels), each
// table resampled once per grid and cached.
//
// Output.Tokens are the last block's tokens (timm's forward_features: no
// norm; the final unroll is consumed, so they are in grid order),
// Output.Grid the last stage's grid, Output.Pooled the head's normalised
// mean.
package hiera
