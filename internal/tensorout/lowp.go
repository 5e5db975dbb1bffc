package tensorout

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/nlpodyssey/safetensors"
)

// I8 makes an int8 tensor of the given shape from data (copied); it panics
// when the counts differ, as F32 does.
func I8(shape []int, data []int8) Tensor {
	n, err := count(shape)
	if err != nil || n != len(data) {
		panic(fmt.Sprintf("tensorout: %d values for shape %v", len(data), shape))
	}
	b := make([]byte, len(data))
	for i, v := range data {
		b[i] = byte(v)
	}
	return Tensor{dtype: safetensors.I8, shape: dims(shape), data: b}
}

// BF16 makes a bfloat16 tensor from float32 data, rounding each value to
// nearest even (NaN stays NaN), as PyTorch's .to(torch.bfloat16) does.
func BF16(shape []int, data []float32) Tensor {
	n, err := count(shape)
	if err != nil || n != len(data) {
		panic(fmt.Sprintf("tensorout: %d values for shape %v", len(data), shape))
	}
	b := make([]byte, 2*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint16(b[2*i:], ToBF16(v))
	}
	return Tensor{dtype: safetensors.BF16, shape: dims(shape), data: b}
}

// ToBF16 rounds a float32 to bfloat16 bits, to nearest even.
func ToBF16(v float32) uint16 {
	u := math.Float32bits(v)
	if v != v {
		return uint16(u>>16) | 0x40 // a quiet NaN
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}
