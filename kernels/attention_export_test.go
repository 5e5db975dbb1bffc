package kernels

// AttentionRef exports attentionRef, the plain specification of Attention.
var AttentionRef = attentionRef

// AttentionInt8KVMax is the active level's attnI8KVMax: the largest
// |byte| of the int8 attention's packed keys and values.
func AttentionInt8KVMax() int { return attnI8KVMax }
