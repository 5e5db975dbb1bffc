package tensorfile

import (
	"bufio"
	"fmt"
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
	bias := make([]float32, 3072)
	for i := range bias {
		bias[i] = float32(i)
	}
	var img []byte
	for pad := 0; pad < 4; pad++ { // the data 4-byte aligned, as safetensors writers align it
		img = build(t, pad, entry{"w", "F32", []int{len(vals)}, f32Bytes(vals...)}, entry{"b", "F32", []int{len(bias)}, f32Bytes(bias...)})
		if (len(img)-4*(len(vals)+len(bias)))%4 == 0 {
			break
		}
	}
	require.NoError(t, os.WriteFile(path, img, 0o644))
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

	// A small tensor is a copy: reading it after DropResident maps nothing.
	g, err := Open(path)
	require.NoError(t, err)
	defer g.Close()
	small, _, err := g.Float32("b")
	require.NoError(t, err)
	big, _, err := g.Float32("w")
	require.NoError(t, err)
	require.NoError(t, g.DropResident())
	gaddr := uintptr(unsafe.Pointer(&g.data[0]))
	if p := uintptr(unsafe.Pointer(&big[0])); p < gaddr || p >= gaddr+uintptr(len(g.data)) {
		t.Errorf("a %d-byte tensor was copied, want it in place", 4*len(big))
	}
	for i, v := range small {
		if v != float32(i) {
			t.Fatalf("b[%d] = %v", i, v)
		}
	}
	if kb := mappingRSS(t, gaddr); kb > 8 {
		t.Errorf("reading a small tensor after DropResident: %d kB of the file resident, want none (it should be a copy)", kb)
	}

	r, err := OpenRead(path)
	require.NoError(t, err)
	defer r.Close()
	require.False(t, r.mapped)
	require.NoError(t, r.DropResident())
	got, _, err := r.Float32("w")
	require.NoError(t, err)
	require.Equal(t, vals[len(vals)-1], got[len(got)-1], "a file read into memory keeps its bytes")
}

// TestReadingKeepsOneTensorResident: reading a mapped file's tensors one
// after another (as a loader packs them, or as CheckFinite checks them)
// leaves about the last one resident, not every page read; each view still
// reads the file's values after its pages were released.
func TestReadingKeepsOneTensorResident(t *testing.T) {
	const n, size = 12, 1 << 19 // twelve 2 MiB tensors
	var es []entry
	for k := range n {
		v := make([]float32, size)
		for i := range v {
			v[i] = float32(k*1000 + i%997)
		}
		es = append(es, entry{fmt.Sprintf("w%02d", k), "F32", []int{size}, f32Bytes(v...)})
	}
	var img []byte
	for pad := 0; pad < 4; pad++ { // the data 4-byte aligned, so the views are in place
		img = build(t, pad, es...)
		if (len(img)-4*n*size)%4 == 0 {
			break
		}
	}
	path := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, os.WriteFile(path, img, 0o644))
	f, err := Open(path)
	require.NoError(t, err)
	defer f.Close()
	require.True(t, f.mapped, "Open maps the file on Linux")
	addr := uintptr(unsafe.Pointer(&f.data[0]))

	check := func(k int, v []float32) {
		t.Helper()
		for i, x := range v {
			if want := float32(k*1000 + i%997); x != want {
				t.Fatalf("w%02d[%d] = %v, want %v", k, i, x, want)
			}
		}
	}
	views := make([][]float32, n)
	peak := 0
	for k := range n {
		v, _, err := f.Float32(fmt.Sprintf("w%02d", k))
		require.NoError(t, err)
		check(k, v)
		views[k] = v
		peak = max(peak, mappingRSS(t, addr))
	}
	// Two tensors and the page cache's folios around them (up to 2 MB each
	// side where large folios map with a fault) fit in 8 MiB; keeping every
	// page read would reach 24.
	if limit := 8 << 10; peak > limit {
		t.Errorf("reading %d tensors of %d MiB one by one: %d kB of the file resident at the peak, want at most %d", n, 4*size>>20, peak, limit)
	}
	// A loader that read everything first reads each tensor again to pack
	// it, and releases it once packed.
	peak = 0
	for k, v := range views {
		check(k, v) // released pages come back with the same bytes
		f.Release(v)
		peak = max(peak, mappingRSS(t, addr))
	}
	if limit := 8 << 10; peak > limit {
		t.Errorf("reading %d tensors again, releasing each: %d kB of the file resident at the peak, want at most %d", n, peak, limit)
	}
	f.Release(make([]float32, size)) // not a view of the file: left alone
	f.Release(nil)
	require.NoError(t, f.CheckFinite())
	if kb := mappingRSS(t, addr); kb > 8<<10 {
		t.Errorf("after CheckFinite: %d kB of the file resident, want at most %d", kb, 8<<10)
	}
}
