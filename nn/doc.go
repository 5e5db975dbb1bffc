// Package nn holds the layers every model family shares: packed Linear
// layers with fused epilogues, layer norm, the MLP variants, patch
// embedding, the attention core (with hooks for an additive bias and a
// rotary, block-diagonal over packed images), the poolings and heads, the
// worker pool, the workspaces, and the pre-norm transformer encoder that
// runs a packed sequence of images of any sizes.
//
// A family package (vit, eva, beit, ...) knows its tensor names and
// configuration; it builds an Encoder from them and leaves the running to
// this package. Imports point down: nn imports posenc and kernels, never a
// family.
package nn
