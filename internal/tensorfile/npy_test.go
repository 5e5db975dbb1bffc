package tensorfile

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/tensorout"
)

// TestNPYRoundTrip reads what tensorout writes.
func TestNPYRoundTrip(t *testing.T) {
	for _, shape := range [][]int{{3}, {2, 3}, {1, 3, 4, 5}, {0, 2}} {
		n := 1
		for _, d := range shape {
			n *= d
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(i) - 1.5
		}
		p := filepath.Join(t.TempDir(), "x.npy")
		if err := tensorout.WriteNPYFile(p, shape, v); err != nil {
			t.Fatal(err)
		}
		got, gs, err := ReadNPY(p)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(gs, shape) || !slices.Equal(got, v) {
			t.Errorf("shape %v: got %v %v", shape, gs, got)
		}
	}
}

func TestNPYErrors(t *testing.T) {
	var good bytes.Buffer
	if err := tensorout.WriteNPY(&good, []int{2, 2}, []float32{1, 2, 3, 4}); err != nil {
		t.Fatal(err)
	}
	g := good.Bytes()
	for name, c := range map[string]struct {
		b    []byte
		want string
	}{
		"empty":      {nil, "magic"},
		"truncated":  {g[:len(g)-1], "needs 16 bytes"},
		"long":       {append(append([]byte{}, g...), 0), "needs 16 bytes"},
		"int dtype":  {bytes.Replace(g, []byte("<f4"), []byte("<i4"), 1), "dtype"},
		"big endian": {bytes.Replace(g, []byte("<f4"), []byte(">f4"), 1), "big-endian"},
		"fortran":    {bytes.Replace(g, []byte("False"), []byte("True "), 1), "C order"},
		"huge shape": {bytes.Replace(g, []byte("(2, 2)"), []byte("(9999999999)"), 1), "shape"},
		"overflow":   {bytes.Replace(g, []byte("(2, 2)"), []byte("(99999,99999)"), 1), "more than"},
		"version":    {append([]byte("\x93NUMPY\x09\x00"), g[8:]...), "version"},
	} {
		if _, _, err := ParseNPY(c.b); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error with %q", name, err, c.want)
		}
	}
}

func FuzzParseNPY(f *testing.F) {
	var good bytes.Buffer
	tensorout.WriteNPY(&good, []int{1, 3, 2, 2}, make([]float32, 12))
	f.Add(good.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		v, shape, err := ParseNPY(b)
		if err != nil {
			return
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		if n != len(v) {
			t.Fatalf("shape %v for %d values", shape, len(v))
		}
	})
}
