package nn

import "github.com/anyres/anyres/kernels"

// Attention in low precision: where a model's Linear layers run in int8
// or bf16, the attention of the blocks whose qkv Linear does runs Q·Kᵀ and
// P·V in low precision at the levels that have it: bfloat16 operands at
// amx (kernels.PackAttentionKVBF16) for both, and at avx512 on AMD for
// bf16 models; int8 operands at avx512 with VNNI
// (kernels.PackAttentionKVInt8) for int8 models; elsewhere it stays
// float32, bit for bit.

// lowAttentionOff, set by tests and benchmarks, keeps every block's
// attention in float32 (to measure what low-precision attention gains).
var lowAttentionOff = false

// AttentionPrecision is how attention reading l's output (a qkv
// projection) packs its keys and values: as l's own precision when l runs
// in int8 or bf16, whose rounding already exceeds what low-precision
// attention adds; a qkv kept in float32 (Precision.KeepF32) keeps float32
// attention. Families set GridScratch.KV to it.
func (l *Linear) AttentionPrecision() kernels.KVPrecision {
	switch {
	case lowAttentionOff:
		return kernels.KVFloat32
	case l.Q != nil:
		return kernels.KVInt8
	case l.H != nil:
		return kernels.KVBFloat16
	}
	return kernels.KVFloat32
}

// attentionPrecision is block b's AttentionPrecision.
func (e *Encoder) attentionPrecision(b int) kernels.KVPrecision {
	return e.Blocks[b].QKV.AttentionPrecision()
}
