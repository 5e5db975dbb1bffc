package tensorfile

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCheckFinite puts one NaN or ±Inf at every position of rows of every
// length up to past two blocks' boundaries, among finite values that come
// close to the exponent test's edges (the largest float32, subnormals,
// -0); the error must name the tensor and the first bad index.
func TestCheckFinite(t *testing.T) {
	edge := []float32{math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, float32(math.Copysign(0, -1)), 1, -3.4e38}
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), math.Float32frombits(0xffc00001)}
	for _, n := range []int{0, 1, 3, 4, 5, 7, 8, 1023, 1024, 1025, 2051} {
		v := make([]float32, n)
		for i := range v {
			v[i] = edge[i%len(edge)]
		}
		require.NoError(t, CheckFinite("w", v), "n=%d all finite", n)
		positions := []int{0, n / 2, n - 1}
		if n > 1030 {
			positions = append(positions, 1023, 1024, 1027)
		}
		for _, p := range positions {
			if p < 0 || p >= n {
				continue
			}
			for _, b := range bad {
				old := v[p]
				v[p] = b
				err := CheckFinite("blocks.3.attn.qkv.weight", v)
				if assert.Error(t, err, "n=%d bad %v at %d", n, b, p) {
					assert.Contains(t, err.Error(), `"blocks.3.attn.qkv.weight"`)
					assert.Contains(t, err.Error(), fmt.Sprintf("element %d of %d", p, n))
				}
				// A second bad value later must not change the index reported.
				if p+1 < n {
					v[n-1] = b
					err = CheckFinite("w", v)
					assert.Contains(t, err.Error(), fmt.Sprintf("element %d ", p))
					v[n-1] = edge[(n-1)%len(edge)]
				}
				v[p] = old
			}
		}
	}
}

// TestFileCheckFinite finds non-finite values in F32, F16 and BF16 tensors
// of a file, and ignores integer tensors.
func TestFileCheckFinite(t *testing.T) {
	good := build(t, 0,
		entry{"a", "F32", []int{2}, f32Bytes(1, 2)},
		entry{"idx", "I64", []int{1}, binary.LittleEndian.AppendUint64(nil, math.MaxUint64)},
	)
	f, err := Parse(good)
	require.NoError(t, err)
	require.NoError(t, f.CheckFinite())

	for _, c := range []struct {
		dtype string
		data  []byte
	}{
		{"F32", f32Bytes(0, float32(math.Inf(1)))},
		{"F16", binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, 0x3c00), 0x7e00)},  // 1, NaN
		{"BF16", binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(nil, 0x3f80), 0xff80)}, // 1, -Inf
	} {
		f, err := Parse(build(t, 0, entry{"a", "F32", []int{2}, f32Bytes(1, 2)}, entry{"pos_embed", c.dtype, []int{2}, c.data}))
		require.NoError(t, err)
		err = f.CheckFinite()
		if assert.Error(t, err, c.dtype) {
			assert.Contains(t, err.Error(), `"pos_embed": element 1 of 2`, c.dtype)
		}
	}
}

// TestOpenReadSurvivesTruncation: a file opened with OpenRead holds its own
// copy, so truncating or rewriting the file (what cp over it does) leaves
// the tensors as they were. (With Open, the same access would be SIGBUS.)
func TestOpenReadSurvivesTruncation(t *testing.T) {
	want := []float32{1, 2, 3, 4, 5, 6}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	require.NoError(t, os.WriteFile(path, build(t, 0, entry{"w", "F32", []int{2, 3}, f32Bytes(want...)}), 0o644))
	f, err := OpenRead(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, os.Truncate(path, 0))
	got, shape, err := f.Float32("w")
	require.NoError(t, err)
	assert.Equal(t, []int{2, 3}, shape)
	assert.Equal(t, want, got)
	require.NoError(t, os.WriteFile(path, []byte(strings.Repeat("x", 100)), 0o644))
	got, _, err = f.Float32("w")
	require.NoError(t, err)
	assert.Equal(t, want, got)

	_, err = OpenRead(filepath.Join(t.TempDir(), "missing.safetensors"))
	assert.Error(t, err)
	_, err = OpenRead(path)
	assert.ErrorContains(t, err, path)
}

func BenchmarkCheckFinite(b *testing.B) {
	v := make([]float32, 1<<22)
	for i := range v {
		v[i] = float32(i) * 1e-3
	}
	b.SetBytes(int64(4 * len(v)))
	for b.Loop() {
		if err := CheckFinite("w", v); err != nil {
			b.Fatal(err)
		}
	}
}
