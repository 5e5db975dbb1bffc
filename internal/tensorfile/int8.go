package tensorfile

import (
	"fmt"
	"unsafe"

	"github.com/nlpodyssey/safetensors"
)

// DType returns a tensor's safetensors dtype name ("F32", "BF16", "I8",
// ...), or "" when the file has no such tensor.
func (f *File) DType(name string) string {
	tv, ok := f.st.Tensor(name)
	if !ok {
		return ""
	}
	return tv.DType().String()
}

// Int8 returns an I8 tensor's values in place (no copy; the caller must not
// modify them) with its shape.
func (f *File) Int8(name string) ([]int8, []int, error) {
	tv, ok := f.st.Tensor(name)
	if !ok {
		return nil, nil, fmt.Errorf("no tensor %q in file", name)
	}
	if tv.DType() != safetensors.I8 {
		return nil, nil, fmt.Errorf("tensor %q has dtype %s; want I8", name, tv.DType())
	}
	shape, err := shapeOf(tv)
	if err != nil {
		return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	raw := tv.Data()
	if len(raw) == 0 {
		return []int8{}, shape, nil
	}
	return unsafe.Slice((*int8)(unsafe.Pointer(&raw[0])), len(raw)), shape, nil
}
