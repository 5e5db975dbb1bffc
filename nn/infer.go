package nn

import (
	"fmt"
	"strconv"
)

// The helpers every family's InferConfig uses to read an architecture's
// facts from a checkpoint's tensor shapes.

// ShapeOf is the shape of ck's tensor name, or nil when ck has none (an
// InferConfig then reports the fact it could not read).
func ShapeOf(ck Checkpoint, name string) []int {
	s, err := ck.Shape(name)
	if err != nil {
		return nil
	}
	return s
}

// CountBlocks counts the consecutive blocks prefix+"N"+suffix that ck
// holds from N = 0 ("blocks.", ".norm1.weight": timm's block count).
func CountBlocks(ck Checkpoint, prefix, suffix string) int {
	n := 0
	for ck.Has(prefix + strconv.Itoa(n) + suffix) {
		n++
	}
	return n
}

// ConfigErrorf is an ErrConfig error with a formatted message.
func ConfigErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
}
