// Package swin runs timm Swin Transformer checkpoints, v1
// (SwinTransformer: swin_tiny_patch4_window7_224, swin_base_patch4_window12_384,
// …) and V2 (SwinTransformerV2: swinv2_tiny_window8_256,
// swinv2_base_window12to16_192to256, …; not swinv2_cr_*), at any image
// size, as timm 1.0 runs them with strict_img_size=False (dynamic masks).
// The package registers the family "swin" with the front door
// (anyres.Load); Load and New build a model directly.
//
// # Position encoding
//
// Swin has no absolute position table: every block adds a relative
// position bias inside its window attention, one value per head for each
// offset (dy, dx) between a query and a key of the same window. v1 learns
// that bias as a table, (2H-1)·(2W-1) rows × heads for an H×W window. V2
// computes it with a small MLP (cpb_mlp) from log-spaced offsets,
// 16·sigmoid(MLP(sign·log2(1+8|d|/(P-1))/3)) with P the pretrained window
// (or the window itself), so the bias exists for any window and
// extrapolates smoothly to larger ones (posenc.CPB); V2 also scores
// attention by cosine similarity times a learned per-head scale
// (exp(logit_scale), clamped at 100), and puts its norms after the
// attention and MLP (post-norm residuals) and after the reduction of patch
// merging. Both versions share the stage, window, mask and merging code
// here; they differ in those switches only.
//
// Off the training grid the bias never needs resampling: the window is
// fixed per stage when the model is built (from Config.ImgSize, as timm
// fixes it from img_size: a stage whose grid there fits in one window gets
// the grid as its window and no shift), and a larger or smaller image is
// cut into more windows, or padded to one. The bias tables (v1's learned
// ones, V2's MLP outputs for the stage window) are therefore computed once
// at load. A V2 model can be run at another window by setting
// Config.WindowSize (with PretrainedWindowSizes set to the checkpoint's
// windows, as timm's window12to16 models do): the MLP gives the bias.
//
// # Sizes that are not whole windows
//
//   - The image sides must be multiples of the patch size (timm's
//     PatchEmbed asserts the same) unless anyres.Options.Edge asks to crop or pad;
//     any number of patches is fine.
//   - Every block works on its stage's windows, and odd blocks shift them
//     by half a window. The grid is rolled by -shift, then padded with
//     zero tokens at the bottom and right to whole windows. The padding
//     tokens take part in attention as timm's do (their keys and values
//     are the qkv bias; in V2 a padding key has no bias, so its cosine is
//     0): there is no separate padding mask.
//   - In shifted blocks the attention mask is built for the padded grid:
//     its rows are cut into three bands at hp-window and hp-shift, its
//     columns likewise, and a query and key of different bands get -100
//     added to their score (timm's value), so tokens that the roll brought
//     together from opposite edges do not attend to each other. Only the
//     windows of the last window row and column are cut.
//   - After attention the windows are folded back, the padding dropped and
//     the roll undone, before the residual add.
//   - Patch merging pads an odd grid with a zero row or column, so an H×W
//     grid becomes ⌈H/2⌉×⌈W/2⌉.
//
// # Outputs and running
//
// Output.Tokens is timm's forward_features, the last stage's grid
// (Output.Grid, Model.Grid) of NumFeatures-wide rows (NHWC with N = 1)
// after the final norm, with no prefix tokens; Pooled is their average
// (forward_head(pre_logits=True)) and Logits forward_head. ForwardBatch
// packs images of any sizes: the row-local steps run on all of them at
// once, attention stays in each image's windows, and each image's results
// are the bits it gets alone. A Model is safe for concurrent use, runs on
// one nn.Workers pool, allocates nothing once warm for a size, and gives
// the same bits for any thread count.
package swin
