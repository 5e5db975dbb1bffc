// Package beit runs timm's BEiT checkpoints (beit_*, beitv2_*) at any
// image size: a pre-norm ViT with a class token, q and v biases but none
// on k, LayerScale (gamma_1, gamma_2), a relative position bias per block
// (or one shared by all blocks), and mean pooling of the patch tokens
// through fc_norm.
//
// # Position encoding
//
// Each block's relative_position_bias_table holds one value per head for
// every offset within the training grid, plus three class rows
// (class→patch, patch→class, class→class); it is added to the attention
// logits after the 1/√head_dim scale (posenc.RelPosBias with classToken).
// timm has no dynamic size for BEiT: it runs another size by re-creating
// the model and passing the weights through beit.checkpoint_filter_fn,
// which resizes every table with resize_rel_pos_bias_table (offsets placed
// on a geometric progression and interpolated linearly; the class rows
// kept). anyres does the same per grid at run time, cached for the most
// recent grids, so one loaded model serves every size (and packed batches
// of mixed sizes) with exactly the bias timm's re-created model would use.
// Off the training grid the near offsets keep their learned values and the
// far ones are stretched over the larger range. An absolute table, where a
// checkpoint has one, is resampled as timm's filter does (bicubic,
// antialias).
//
// Every tensor of the checkpoint must be used; a missing one is named.
package beit
