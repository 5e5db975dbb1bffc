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
