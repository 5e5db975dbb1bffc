package nn

// Attention in low precision: where a model's Linear layers run in int8
// or bf16, the attention of the blocks whose qkv Linear does runs Q·Kᵀ and
// P·V with bfloat16 operands (kernels.PackAttentionKVBF16), at the levels
// that have it (amx); elsewhere it stays float32, bit for bit.

// lowAttentionOff, set by tests and benchmarks, keeps every block's
// attention in float32 (to measure what bfloat16 attention gains).
var lowAttentionOff = false

// LowPrecisionAttention reports whether attention reading l's output (a
// qkv projection) runs in bfloat16: when l runs in int8 or bf16, whose
// rounding already exceeds bfloat16's in Q·Kᵀ and P·V. A qkv kept in
// float32 (Precision.KeepF32) keeps float32 attention. Families set
// GridScratch.LowPrecision to it.
func (l *Linear) LowPrecisionAttention() bool {
	return !lowAttentionOff && (l.Q != nil || l.H != nil)
}

// lowPrecisionAttention reports whether block b's attention runs in
// bfloat16.
func (e *Encoder) lowPrecisionAttention(b int) bool {
	return e.Blocks[b].QKV.LowPrecisionAttention()
}

// anyLowPrecisionAttention reports whether some block's attention runs in
// bfloat16 (for reserving the workers' buffers).
func (e *Encoder) anyLowPrecisionAttention() bool {
	for b := range e.Blocks {
		if e.lowPrecisionAttention(b) {
			return true
		}
	}
	return false
}
