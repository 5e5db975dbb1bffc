package kernels

// AttentionRef exports attentionRef, the plain specification of Attention.
var AttentionRef = attentionRef
