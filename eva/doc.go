// Package eva runs timm's Eva class at any image size: EVA-02
// (eva02_*: a learned absolute table plus 2-D RoPE, SwiGLU MLPs, fused or
// separate q/k/v projections with no k bias) and the RoPE ViTs
// (vit_*_rope_*: RoPE-Mixed with learned per-block, per-head frequencies,
// naver's axial RoPE ViTs with or without an absolute table, and timm's
// axial-RoPE register models), DINOv3 (vit_*_dinov3*: RoPE on
// normalised patch centres, registers, no table), Perception Encoder
// (vit_pe_*: table + RoPE, attention-pool head) and the EVA-02 CLIP
// towers (eva02_*_clip_*: a LayerNorm on the attention output), with
// LayerScale, class and register tokens, and average, token or
// attention pooling with fc_norm.
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
// DINOv3 has no table: patch (i, j) sits at ((i+0.5)/H, (j+0.5)/W)
// mapped to [-1, 1] on each axis (posenc.RopeDinoV3), so every size and
// aspect ratio spans the range of training, in finer or coarser steps;
// its pairs are (i, i+headDim/2) (timm rope_rotate_half). Perception
// Encoder rotates like EVA-02 with positions i+1 (rope_grid_offset) and
// its training grid as reference.
//
// Tables are built once per grid and cached (bounded); packed batches of
// mixed sizes rotate each image on its own grid.
//
// # Loading
//
// Load takes a checkpoint under timm's state_dict names and timm's hub
// config.json. The architecture comes from the tensors (widths, depth,
// which parts exist, MLP layout), then model_args, then the timm name
// (whether and how the model rotates, its reference grid, LayerNorm eps).
// Every tensor must be used: q/k norms, gated attention and post-norm
// blocks are not run and are refused by name.
package eva
