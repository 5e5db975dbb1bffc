package tensorfile

import (
	"encoding/binary"
	"testing"
)

// FuzzParse: no bytes make Parse, or reading the tensors of a file it
// accepted, panic; every tensor it serves holds as many values as its shape
// says. Run longer with go test -run='^$' -fuzz='^FuzzParse$' ./internal/tensorfile.
func FuzzParse(f *testing.F) {
	f.Add(build(f, 0, entry{"w", "F32", []int{2, 2}, f32Bytes(1, 2, 3, 4)}))
	f.Add(build(f, 3,
		entry{"a", "F16", []int{3}, []byte{0, 0x3c, 0, 0x7c, 1, 0}},
		entry{"b", "BF16", []int{1, 1}, []byte{0x80, 0x3f}},
		entry{"i", "I64", []int{1}, binary.LittleEndian.AppendUint64(nil, 7)},
		entry{"e", "F32", []int{0, 5}, nil},
	))
	f.Add([]byte("\x08\x00\x00\x00\x00\x00\x00\x00{}      "))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse(data)
		if err != nil {
			return
		}
		defer file.Close()
		_ = file.Metadata()
		_ = file.CheckFinite()
		for _, name := range file.Names() {
			shape, err := file.Shape(name)
			if err != nil {
				continue
			}
			n := 1
			for _, d := range shape {
				n *= d
			}
			if v, _, err := file.Float32(name); err == nil && len(v) != n {
				t.Fatalf("%q: %d float32 values for shape %v", name, len(v), shape)
			}
			if v, _, err := file.Int64(name); err == nil && len(v) != n {
				t.Fatalf("%q: %d int64 values for shape %v", name, len(v), shape)
			}
		}
	})
}
