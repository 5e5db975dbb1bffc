package golden

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// Bool returns a BOOL tensor of testdata/golden/<file> (e.g. NaFlex's
// patch_valid) and its shape, read from the file's own header: the
// tensorfile reader serves float and integer tensors only.
func Bool(tb testing.TB, file, name string) ([]bool, []int) {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join(Dir(tb), file))
	if err != nil {
		tb.Fatal(err)
	}
	if len(data) < 8 {
		tb.Fatalf("golden %s: too short", file)
	}
	n := binary.LittleEndian.Uint64(data)
	if n > uint64(len(data)-8) {
		tb.Fatalf("golden %s: header length %d past the end", file, n)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &header); err != nil {
		tb.Fatalf("golden %s: header: %v", file, err)
	}
	var t struct {
		Dtype   string `json:"dtype"`
		Shape   []int  `json:"shape"`
		Offsets [2]int `json:"data_offsets"`
	}
	raw, ok := header[name]
	if !ok {
		tb.Fatalf("golden %s: no tensor %q", file, name)
	}
	if err := json.Unmarshal(raw, &t); err != nil || t.Dtype != "BOOL" {
		tb.Fatalf("golden %s: %q is not a BOOL tensor (%s, %v)", file, name, t.Dtype, err)
	}
	body := data[8+n:]
	if t.Offsets[0] < 0 || t.Offsets[1] < t.Offsets[0] || t.Offsets[1] > len(body) {
		tb.Fatalf("golden %s: %q has offsets %v past the data", file, name, t.Offsets)
	}
	out := make([]bool, t.Offsets[1]-t.Offsets[0])
	for i, b := range body[t.Offsets[0]:t.Offsets[1]] {
		out[i] = b != 0
	}
	return out, t.Shape
}
