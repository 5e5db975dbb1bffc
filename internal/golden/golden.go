// Package golden reads the timm/PyTorch reference outputs kept under
// testdata/golden (see its README) for tests in any package of the module.
package golden

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/tensorfile"
)

// Case is one reference call: fn applied to the named inputs with params
// gave the named outputs.
type Case struct {
	Name    string          `json:"name"`
	Fn      string          `json:"fn"`
	Params  json.RawMessage `json:"params"`
	Inputs  []string        `json:"inputs"`
	Outputs []string        `json:"outputs"`
}

// File is one golden safetensors file.
type File struct {
	*tensorfile.File
	Cases []Case
}

// Dir returns the testdata/golden folder of the module, found by walking up
// from the working directory (go test runs in the package's folder).
func Dir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "golden")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("golden: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Open reads testdata/golden/<name> and its case list; the file is closed
// when the test ends.
func Open(tb testing.TB, name string) *File {
	tb.Helper()
	tf, err := tensorfile.Open(filepath.Join(Dir(tb), name))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { tf.Close() })
	f := &File{File: tf}
	if raw, ok := tf.Metadata()["cases"]; ok {
		if err := json.Unmarshal([]byte(raw), &f.Cases); err != nil {
			tb.Fatalf("golden %s: cases: %v", name, err)
		}
	}
	return f
}

// MetaJSON decodes the JSON metadata entry key (e.g. "config") into dst.
func (f *File) MetaJSON(tb testing.TB, key string, dst any) {
	tb.Helper()
	raw, ok := f.Metadata()[key]
	if !ok {
		tb.Fatalf("golden: no metadata %q", key)
	}
	if err := json.Unmarshal([]byte(raw), dst); err != nil {
		tb.Fatalf("golden: metadata %q: %v", key, err)
	}
}

// F32 returns a float32 tensor and its shape, failing the test if absent.
func (f *File) F32(tb testing.TB, name string) ([]float32, []int) {
	tb.Helper()
	v, shape, err := f.Float32(name)
	if err != nil {
		tb.Fatal(err)
	}
	return v, shape
}

// I64 returns an int64 tensor and its shape, failing the test if absent.
func (f *File) I64(tb testing.TB, name string) ([]int64, []int) {
	tb.Helper()
	v, shape, err := f.Int64(name)
	if err != nil {
		tb.Fatal(err)
	}
	return v, shape
}

// Decode unmarshals the case's params into dst.
func (c Case) Decode(tb testing.TB, dst any) {
	tb.Helper()
	if err := json.Unmarshal(c.Params, dst); err != nil {
		tb.Fatalf("golden case %s: params: %v", c.Name, err)
	}
}

// Close compares got with want elementwise: |got-want| <= atol + rtol·|want|,
// NaNs and infinities equal only to themselves. It reports the worst element.
func Close(tb testing.TB, what string, got, want []float32, atol, rtol float64) {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: got %d values, want %d", what, len(got), len(want))
	}
	worst, worstAt := 0.0, -1
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if g == w || (g != g && w != w) {
			continue
		}
		d := g - w
		if d < 0 {
			d = -d
		}
		lim := atol + rtol*abs(w)
		if d != d || d > lim {
			if d != d || d-lim > worst || worstAt < 0 {
				worst, worstAt = d-lim, i
			}
		}
	}
	if worstAt >= 0 {
		tb.Errorf("%s: element %d = %g, want %g (atol %g, rtol %g)", what, worstAt, got[worstAt], want[worstAt], atol, rtol)
	}
}

// NCHWToHWC turns a (1, C, H, W) tensor, PyTorch's layout, into H×W×C
// (channels last), the layout anyres's grids and images use.
func NCHWToHWC(x []float32, c, h, w int) []float32 {
	y := make([]float32, len(x))
	for ch := range c {
		for i := range h * w {
			y[i*c+ch] = x[ch*h*w+i]
		}
	}
	return y
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// NotWeight reports the tensors of a model file that are reference inputs
// and outputs (in_*, features_*, logits_*, naflex_*), not weights: loaders
// are told to leave them out of their tensor accounting.
func NotWeight(name string) bool {
	for _, p := range []string{"in_", "features_", "logits_", "naflex_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}
