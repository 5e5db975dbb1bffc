// Package eva runs timm's Eva class at any image size: EVA-02
// (eva02_*: a learned absolute table plus 2-D RoPE, SwiGLU MLPs, fused or
// separate q/k/v projections with no k bias) and the RoPE ViTs
// (vit_*_rope_*: RoPE-Mixed with learned per-block, per-head frequencies,
// naver's axial RoPE ViTs with or without an absolute table, and timm's
// axial-RoPE register models), with LayerScale, class and register tokens,
// and average or token pooling with fc_norm.
//
// # Position encodings
//
// EVA-02 adds its learned table (resampled to each grid as timm does:
// bicubic with antialias, posenc.Learned) and, inside every block's
// attention, rotates q and k of the patch tokens (never the class token)
// with axial 2-D RoPE (posenc.Rope2D: language-model frequencies,
// interleaved pairs; timm's grid_indexing 'xy' puts the column's
// frequencies first, as naver's axial models do). Off the training grid the RoPE coordinates are
// rescaled to span the reference grid (timm's ref_feat_shape, 16×16 for
// every EVA-02): a larger image gets finer steps over the same angle
// range rather than angles never seen in training.
//
// RoPE-Mixed (naver-ai/rope-vit) has no absolute table: each block and
// head turns pair k of a patch by tx·fx + ty·fy with learned frequencies
// (rope.freqs, posenc.RopeMixed), at plain integer coordinates. Any grid
// runs with nothing resampled; larger grids meet relative offsets the
// model never saw, which is where its extrapolation comes from.
//
// Tables are built once per grid and cached (bounded); packed batches of
// mixed sizes rotate each image on its own grid.
//
// # Loading
//
// Load takes a checkpoint under timm's state_dict names and timm's hub
// config.json. The architecture comes from the tensors (widths, depth,
// which parts exist, MLP layout), then model_args, then the timm name
// (whether and how the model rotates, its reference grid). Every tensor
// must be used: q/k norms, attention inner norms, post-norm blocks and
// attention-pool heads are not run and are refused by name.
package eva
