package tensorout

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/tensorfile"
)

func TestNPYLayout(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		tuple string
	}{{[]int{2, 3}, "(2, 3)"}, {[]int{5}, "(5,)"}, {[]int{}, "()"}, {[]int{1, 0, 4}, "(1, 0, 4)"}} {
		n := 1
		for _, d := range tc.shape {
			n *= d
		}
		data := make([]float32, n)
		for i := range data {
			data[i] = float32(i) - 1.5
		}
		var buf bytes.Buffer
		if err := WriteNPY(&buf, tc.shape, data); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if string(b[:8]) != "\x93NUMPY\x01\x00" {
			t.Fatalf("magic %q", b[:8])
		}
		hl := int(binary.LittleEndian.Uint16(b[8:10]))
		header := string(b[10 : 10+hl])
		if (10+hl)%64 != 0 || !strings.HasSuffix(header, "\n") {
			t.Errorf("header of %d bytes is not padded to 64 with a final newline: %q", hl, header)
		}
		want := "{'descr': '<f4', 'fortran_order': False, 'shape': " + tc.tuple + ", }"
		if strings.TrimRight(header, " \n") != want {
			t.Errorf("header %q, want %q", header, want)
		}
		body := b[10+hl:]
		if len(body) != 4*n {
			t.Fatalf("%d data bytes, want %d", len(body), 4*n)
		}
		for i := range data {
			if got := binary.LittleEndian.Uint32(body[4*i:]); got != f32bits(data[i]) {
				t.Fatalf("value %d differs", i)
			}
		}
	}
	if err := WriteNPY(&bytes.Buffer{}, []int{2, 2}, make([]float32, 3)); err == nil {
		t.Error("3 values for shape 2×2 accepted")
	}
	if err := WriteNPY(&bytes.Buffer{}, []int{-1}, nil); err == nil {
		t.Error("negative dimension accepted")
	}
}

func TestSafetensorsRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.safetensors")
	a := []float32{1, 2, 3, 4, 5, 6}
	err := WriteSafetensorsFile(p, map[string]Tensor{"a": F32([]int{2, 3}, a), "b": F32([]int{1}, []float32{-7})},
		map[string]string{"config": `{"x": 1}`})
	if err != nil {
		t.Fatal(err)
	}
	f, err := tensorfile.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, shape, err := f.Float32("a")
	if err != nil || len(shape) != 2 || shape[0] != 2 || shape[1] != 3 {
		t.Fatalf("a: shape %v err %v", shape, err)
	}
	for i := range a {
		if got[i] != a[i] {
			t.Fatalf("a[%d] = %v, want %v", i, got[i], a[i])
		}
	}
	if f.Metadata()["config"] != `{"x": 1}` {
		t.Errorf("metadata %v", f.Metadata())
	}
	// Raw copies a tensor unchanged into another file.
	q := filepath.Join(t.TempDir(), "y.safetensors")
	if err := WriteSafetensorsFile(q, map[string]Tensor{"b": f32Raw(t, p, "b")}, nil); err != nil {
		t.Fatal(err)
	}
	g, err := tensorfile.Open(q)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if v, _, err := g.Float32("b"); err != nil || v[0] != -7 {
		t.Errorf("copied b = %v, %v", v, err)
	}
}

func TestWriteFileLeavesNoPartialFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.npy")
	if err := WriteNPYFile(p, []int{3}, []float32{1}); err == nil {
		t.Fatal("bad shape accepted")
	}
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("a failed write left %s behind", p)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 0 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := WriteNPYFile(filepath.Join(t.TempDir(), "no", "such", "dir.npy"), []int{1}, []float32{1}); err == nil {
		t.Error("write into a missing folder succeeded")
	}
}
