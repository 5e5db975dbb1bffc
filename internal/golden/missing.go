package golden

import (
	"fmt"
	"testing"
)

// Missing is the part of a loader's error that names a tensor of f and the
// shape it has in f: `"name" (shape [a b])`, as loaders report a missing
// tensor, so a test expects the shape of the file it reads.
func (f *File) Missing(tb testing.TB, name string) string {
	tb.Helper()
	shape, err := f.Shape(name)
	if err != nil {
		tb.Fatal(err)
	}
	return fmt.Sprintf("%q (shape %v)", name, shape)
}

// Blocks counts the blocks of a model file under prefix ("blocks." for a
// ViT, "layers.0.blocks." for a Swin stage): the indices i with a tensor
// named prefix+i+".…", 0, 1, … without a gap. Tests name the last block
// (Blocks−1) rather than one a shallower file would not have.
func (f *File) Blocks(prefix string) int {
	n := 0
	for {
		p := fmt.Sprintf("%s%d.", prefix, n)
		found := false
		for _, name := range f.Names() {
			if len(name) > len(p) && name[:len(p)] == p {
				found = true
				break
			}
		}
		if !found {
			return n
		}
		n++
	}
}
