// Package swin runs timm Swin Transformer (v1) checkpoints at any image
// size that is a whole number of patches.
//
// # Loading
//
// Load reads a safetensors file with timm's state_dict names
// (patch_embed.proj.weight, layers.0.blocks.1.attn.relative_position_bias_table,
// …) and the architecture from its `config` metadata (the Config JSON keys)
// or Options.Config. Every weight is checked: a missing one, or one of the
// wrong shape, is an error naming the weight and both shapes. The relative
// position bias of each block is gathered once, at load, into a heads×N×N
// matrix (N the window area) with posenc.RelativePositionIndex.
//
// # Sizes that are not whole windows
//
// This follows timm 1.0 with strict_img_size=False (dynamic masks), so the
// results match it at every size:
//
//   - The image sides must be multiples of the patch size (timm's
//     PatchEmbed asserts the same); any number of patches is fine.
//   - Every block works on windows of the configured size (7×7), and odd
//     blocks shift them by half a window. The normalised grid is rolled by
//     -shift, then padded with zero tokens at the bottom and right to whole
//     windows. The padding tokens take part in attention as timm's do (their
//     keys and values are the qkv bias): there is no separate padding mask.
//   - In shifted blocks the attention mask is built for the padded grid:
//     its rows are cut into three bands at hp-window and hp-shift, its
//     columns likewise, and a query and key of different bands get -100
//     added to their score (timm's value), so tokens that the roll brought
//     together from opposite edges do not attend to each other. The
//     padding lies in the last band, with the tokens rolled in from the top
//     and left.
//   - After attention the windows are folded back, the padding dropped and
//     the roll undone, before the residual add.
//   - Patch merging pads an odd grid with a zero row or column, so an H×W
//     grid becomes ⌈H/2⌉×⌈W/2⌉.
//
// The window and shift do not depend on the input size: timm fixes them
// per stage when the model is built, from Config.ImgSize (224² unless the
// config says otherwise), shrinking the window and dropping the shift in a
// stage whose grid at that size fits in one window (Config.StageWindow).
//
// # Outputs
//
// Output.Features is timm's forward_features (NHWC of the last stage after
// the final norm), Pooled its average over the grid and Logits
// forward_head. A Model is safe for concurrent use: each call takes its own
// buffers from a pool.
package swin
