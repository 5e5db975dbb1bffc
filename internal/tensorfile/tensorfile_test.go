package tensorfile

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// build makes a safetensors image: one tensor per entry, laid out in order.
func build(t testing.TB, pad int, tensors ...struct {
	name, dtype string
	shape       []int
	data        []byte
}) []byte {
	t.Helper()
	hdr := map[string]any{"__metadata__": map[string]string{"k": "v"}}
	var body []byte
	for _, x := range tensors {
		hdr[x.name] = map[string]any{"dtype": x.dtype, "shape": x.shape, "data_offsets": []int{len(body), len(body) + len(x.data)}}
		body = append(body, x.data...)
	}
	h, err := json.Marshal(hdr)
	require.NoError(t, err)
	h = append(h, []byte(strings.Repeat(" ", pad))...)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	return append(append(out, h...), body...)
}

type entry = struct {
	name, dtype string
	shape       []int
	data        []byte
}

func f32Bytes(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

func TestFloat32InPlaceAndUnaligned(t *testing.T) {
	want := []float32{1, -2.5, float32(math.Inf(1)), 3e-39}
	// pad 0..3 moves the data start off 4-byte alignment: both paths must
	// give the same values.
	for pad := 0; pad < 4; pad++ {
		f, err := Parse(build(t, pad, entry{"w", "F32", []int{2, 2}, f32Bytes(want...)}))
		require.NoError(t, err)
		got, shape, err := f.Float32("w")
		require.NoError(t, err)
		assert.Equal(t, []int{2, 2}, shape)
		assert.Equal(t, want, got, "pad %d", pad)
		assert.Equal(t, "v", f.Metadata()["k"])
	}
}

// TestHalfToFloat32Exhaustive checks every binary16 value against its
// definition: (-1)^s · 2^(e-15) · (1 + m/1024), subnormals 2^-14 · m/1024.
func TestHalfToFloat32Exhaustive(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		s, e, m := h>>15, (h>>10)&0x1f, h&0x3ff
		var want float64
		switch {
		case e == 0x1f && m == 0:
			want = math.Inf(1)
		case e == 0x1f:
			want = math.NaN()
		case e == 0:
			want = math.Ldexp(float64(m)/1024, -14)
		default:
			want = math.Ldexp(1+float64(m)/1024, e-15)
		}
		if s == 1 {
			want = -want
		}
		got := float64(HalfToFloat32(uint16(h)))
		if math.IsNaN(want) {
			if !math.IsNaN(got) {
				t.Fatalf("half %#04x: got %v, want NaN", h, got)
			}
			continue
		}
		if got != want || math.Signbit(got) != math.Signbit(want) {
			t.Fatalf("half %#04x: got %v, want %v", h, got, want)
		}
	}
}

func TestHalfAndBFloatTensorsConvert(t *testing.T) {
	f16 := []byte{0x00, 0x3c, 0x00, 0xc0}  // 1, -2
	bf16 := []byte{0x80, 0x3f, 0x49, 0x40} // 1, 3.140625
	f, err := Parse(build(t, 0, entry{"a", "F16", []int{2}, f16}, entry{"b", "BF16", []int{2}, bf16}))
	require.NoError(t, err)
	a, _, err := f.Float32("a")
	require.NoError(t, err)
	assert.Equal(t, []float32{1, -2}, a)
	b, _, err := f.Float32("b")
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 3.140625}, b)
}

func TestMalformedFilesAreErrors(t *testing.T) {
	good := build(t, 0, entry{"w", "F32", []int{2}, f32Bytes(1, 2)})
	for name, data := range map[string][]byte{
		"empty":              nil,
		"short length":       good[:5],
		"header past end":    binary.LittleEndian.AppendUint64(nil, 1<<40),
		"truncated data":     good[:len(good)-1],
		"not json":           append(binary.LittleEndian.AppendUint64(nil, 4), []byte("nope")...),
		"offsets past data":  build(t, 0, entry{"w", "F32", []int{4}, f32Bytes(1, 2)}),
		"shape/size differ":  build(t, 0, entry{"w", "F32", []int{3}, f32Bytes(1, 2)}),
		"unknown dtype name": build(t, 0, entry{"w", "F99", []int{2}, f32Bytes(1, 2)}),
	} {
		_, err := Parse(data)
		assert.Error(t, err, name)
	}
	f, err := Parse(good)
	require.NoError(t, err)
	_, _, err = f.Float32("missing")
	assert.ErrorContains(t, err, "no tensor")
	_, _, err = f.Int64("w")
	assert.ErrorContains(t, err, "want I64")
}

func TestOpenMapsAndCloses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, os.WriteFile(path, build(t, 0, entry{"w", "F32", []int{3}, f32Bytes(1, 2, 3)}), 0o644))
	f, err := Open(path)
	require.NoError(t, err)
	got, _, err := f.Float32("w")
	require.NoError(t, err)
	assert.Equal(t, []float32{1, 2, 3}, got)
	assert.Equal(t, []string{"w"}, f.Names())
	require.NoError(t, f.Close())
	require.NoError(t, f.Close(), "a second Close is harmless")
	_, err = Open(filepath.Join(t.TempDir(), "none.safetensors"))
	assert.Error(t, err)
}
