package tensorout_test

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/anyres/anyres/internal/tensorout"
)

// A .npy file is a header padded to 128 bytes here, followed by the float32 values;
// numpy.load reads it as an array of that shape.
func ExampleWriteNPY() {
	var buf bytes.Buffer
	if err := tensorout.WriteNPY(&buf, []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}); err != nil {
		fmt.Println(err)
		return
	}
	header := buf.Bytes()[10:128]
	fmt.Println(strings.TrimSpace(string(header)))
	fmt.Println(buf.Len(), "bytes")
	// Output:
	// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
	// 152 bytes
}

// Several named tensors and string metadata go in one safetensors file.
func ExampleWriteSafetensors() {
	var buf bytes.Buffer
	err := tensorout.WriteSafetensors(&buf, map[string]tensorout.Tensor{
		"features": tensorout.F32([]int{1, 2, 2}, []float32{1, 2, 3, 4}),
		"logits":   tensorout.F32([]int{1, 3}, []float32{0.1, 0.2, 0.7}),
	}, map[string]string{"grid": "[1, 1]"})
	fmt.Println(err, buf.Len() > 8+4*7)
	// Output:
	// <nil> true
}
