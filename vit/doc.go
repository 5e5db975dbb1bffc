// Package vit runs timm's VisionTransformer family — ViT, DeiT and DeiT-III
// (distillation token), DINOv2 (layer scale, registers), CLIP image towers
// (pre-norm, no patch bias, QuickGELU), SigLIP (attention-pool head) and
// FlexiViT (any patch size) — at any image size, any patch size, and many
// sizes per batch. It is a family of package nn: it maps timm's tensor
// names onto an nn.Encoder and registers itself with the front door
// (package anyres), which is how most users load it.
//
// # Loading
//
// The front door (anyres.Load, anyres.LoadBytes) reads a safetensors file
// with timm's state_dict names (patch_embed.proj.weight,
// blocks.0.attn.qkv.weight, …) and hands it to this family. The
// architecture comes from the file's `config` metadata (the Config JSON
// keys), anyres.Options.Config, or (InferConfig) from timm's hub
// config.json and the tensor shapes; New builds a model from a Config and
// weights in memory. Every weight is checked before any is used: a missing
// one, or one of the wrong shape, is an error naming the weight and both
// shapes; a tensor the architecture does not use, or a non-finite value, is
// an error naming the tensor. F32 vectors are used in place from the
// memory-mapped file; F16 and BF16 are converted; the matrices are packed
// once for the GEMM kernels, LayerScale folded into them.
//
// # Any size
//
// The token count is a runtime value. An H×W image becomes a grid of
// patches under an EdgePolicy (zero-pad to whole patches as timm's
// dynamic_img_pad, crop, or resize), and the stored position table is
// resampled to that grid (posenc.Learned: bicubic with antialias as timm,
// cached per grid). Options.PatchSize runs the checkpoint at another patch
// size (FlexiViT: the kernel is resized by the pseudo-inverse of the patch
// resize). Options.PosEncoder plugs in any other posenc.Encoder.
//
// Encodings that act inside attention plug in too, for every block:
// Options.Rotary (a posenc.Rotary such as Rope2D, EVA-02's 2-D RoPE)
// rotates q and k of the patch tokens right after the qkv projection, and
// Options.AttentionBias (a posenc.AttentionBias such as RelPosBias or CPB)
// is added to each head's logits after the 1/√head_dim scale, before the
// softmax, with the image's whole grid as the window (BEiT style). Both act
// per image, on its own grid, in packed batches too. New checks that they
// fit the model's heads and head dim (ErrConfig).
//
// # Running
//
// Forward runs one image; ForwardBatch packs images of different sizes into
// one sequence (NaViT): every token-wise step (norms, GEMMs with bias, GELU
// and residual fused in their epilogues) runs over all tokens at once, and
// attention runs per image and head on query tiles, so no image sees
// another's tokens and the only N-sized buffer is one query tile's scores
// per worker. Outputs are the token features (timm's forward_features), the
// pooled feature and the logits (forward_head).
//
// A Model is safe for concurrent use: each forward pass takes a workspace
// from the model's nn.Runner, and workspaces only grow, so a warm pass
// allocates nothing in this package. Work is split over Options.Threads
// workers by row tiles and (image, head, query tile) items; results are
// bit-identical for any thread count.
//
// # Errors
//
// Input from outside never panics: images of the wrong channel count, or
// smaller than one patch (ErrImage), more tokens than Options.MaxTokens
// (ErrTooManyTokens), missing or mis-shaped weights (ErrWeight), invalid
// configs (ErrConfig) and malformed files are errors.
package vit
