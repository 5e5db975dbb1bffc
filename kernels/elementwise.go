package kernels

import "fmt"

// The elementwise families live one per file set: exp.go, softmax.go,
// layernorm.go, gelu.go and add.go, each with its generic Go here and its
// assembly in *_amd64.s / *_arm64.s. This file holds what they share.

// checkLen panics when two slices that must match in length do not.
func checkLen(name string, dst, src []float32) {
	if len(dst) != len(src) {
		panic(fmt.Sprintf("kernels: %s: lengths %d and %d differ", name, len(dst), len(src)))
	}
}

// checkOptional panics when an optional operand (weight, bias) is given
// with a length other than want.
func checkOptional(name string, v []float32, want int) {
	if v != nil && len(v) != want {
		panic(fmt.Sprintf("kernels: %s: length %d, want %d (or nil)", name, len(v), want))
	}
}
