package tensorfile

import (
	"bufio"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// mappingRSS is the resident kilobytes of the mapping that starts at addr,
// from /proc/self/smaps.
func mappingRSS(t *testing.T, addr uintptr) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	require.NoError(t, err)
	defer f.Close()
	in := false
	for s := bufio.NewScanner(f); s.Scan(); {
		line := s.Text()
		if start, _, ok := strings.Cut(strings.Fields(line + " x")[0], "-"); ok && !strings.HasSuffix(line, ":") {
			if a, err := strconv.ParseUint(start, 16, 64); err == nil {
				in = uintptr(a) == addr
				continue
			}
		}
		if in && strings.HasPrefix(line, "Rss:") {
			kb, err := strconv.Atoi(strings.Fields(line)[1])
			require.NoError(t, err)
			return kb
		}
	}
	t.Fatalf("no mapping at %#x in /proc/self/smaps", addr)
	return 0
}

// TestDropResident: the pages a load read leave the process's resident
// memory, and the tensors read the same values afterwards; a file read
// into memory is left alone.
func TestDropResident(t *testing.T) {
	vals := make([]float32, 1<<20) // 4 MiB
	for i := range vals {
		vals[i] = float32(i%977) - 0.5
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, os.WriteFile(path, build(t, 0, entry{"w", "F32", []int{len(vals)}, f32Bytes(vals...)}), 0o644))
	f, err := Open(path)
	require.NoError(t, err)
	defer f.Close()
	require.True(t, f.mapped, "Open maps the file on Linux")
	addr := uintptr(unsafe.Pointer(&f.data[0]))
	sum := func() float64 {
		got, _, err := f.Float32("w")
		require.NoError(t, err)
		s := 0.0
		for i, v := range got {
			if v != vals[i] {
				t.Fatalf("w[%d] = %v, want %v", i, v, vals[i])
			}
			s += math.Abs(float64(v))
		}
		return s
	}
	sum()
	before := mappingRSS(t, addr)
	require.NoError(t, f.DropResident())
	after := mappingRSS(t, addr)
	if before < 4096 || after > before/8 {
		t.Errorf("mapping resident %d kB after reading it, %d kB after DropResident", before, after)
	}
	sum() // the views read the file again

	r, err := OpenRead(path)
	require.NoError(t, err)
	defer r.Close()
	require.False(t, r.mapped)
	require.NoError(t, r.DropResident())
	got, _, err := r.Float32("w")
	require.NoError(t, err)
	require.Equal(t, vals[len(vals)-1], got[len(got)-1], "a file read into memory keeps its bytes")
}
