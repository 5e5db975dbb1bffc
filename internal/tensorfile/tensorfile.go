// Package tensorfile reads safetensors files with every offset, dtype and
// shape checked before any tensor byte is touched, memory-mapping the file
// where the platform allows so that F32 tensors are used in place.
//
// Mapping or reading. Open maps the file (read-only, shared): loading costs
// no copy, pages come in as the model touches them, the kernel may drop
// clean pages under memory pressure, and processes that load the same file
// share one copy. The price is that the file must not change while it is
// mapped: truncating it, or rewriting it in place (cp over it, a download
// tool that writes into the existing file), turns the next access to a
// vanished page into SIGBUS, which kills the process and cannot be
// recovered. Replace a model file by writing a new file and renaming it over
// the old one (the mapping keeps the old inode). Where that cannot be
// promised (a shared or network folder, files other programs update),
// OpenRead reads the whole file into memory instead: it costs the file's
// size in RAM and the time to read it, and nothing done to the file later
// can affect the loaded tensors.
//
// Non-finite weights. CheckFinite (and File.CheckFinite) find NaN and ±Inf
// in a tensor and name it; loaders run it over every weight.
//
// Header parsing and validation are github.com/nlpodyssey/safetensors (a port
// of the reference Rust crate); this package adds mapping, float32 views and
// dtype conversion.
package tensorfile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"sync"
	"unsafe"

	"github.com/nlpodyssey/safetensors"
)

// MaxFileSize bounds the files Open accepts (64 GiB): larger is taken as a
// malformed or hostile size rather than a model.
const MaxFileSize = 64 << 30

// File is an opened safetensors file. Its tensors stay valid until Close.
type File struct {
	st      safetensors.SafeTensors
	meta    map[string]string
	data    []byte
	release func() error
	mapped  bool // data is a read-only file mapping (Open on unix)

	mu   sync.Mutex
	last []byte // the last tensor Float32 returned in place (see dropPrevious)
}

// DropResident releases the resident pages of a mapped file once a model
// has copied what it runs from it (packed weights): without it, every page
// read while loading stays in the process's memory beside the copy, twice
// the weights. Views into the file stay valid: a page read again is paged
// back in from the page cache. It does nothing for a file read into memory.
func (f *File) DropResident() error {
	if !f.mapped {
		return nil
	}
	return dropResident(f.data)
}

// dropPrevious releases the resident pages of the tensor Float32 returned
// in place before raw, and remembers raw. A loader reads a tensor, packs
// it and moves on, so without this every page it read stays resident until
// the model is built, and the load's peak holds the weights twice (the
// file's pages and the packed copy; File.CheckFinite alone reads all of
// them first). With it, a mapped file keeps about one tensor resident at a
// time. Releasing is only advice: a view read again is paged back in from
// the page cache with the same bytes, so a loader that holds several views
// at once pays a page fault, never a wrong value.
func (f *File) dropPrevious(raw []byte) {
	if !f.mapped {
		return
	}
	f.mu.Lock()
	prev := f.last
	f.last = raw
	f.mu.Unlock()
	if prev != nil {
		_ = dropResident(pageRange(f.data, prev))
	}
}

// Release gives back the resident pages under v, a tensor Float32
// returned in place, once the caller has made its own copy (a packed
// weight). Loaders that read every tensor before packing any (to check
// names and shapes first) read each one twice, and without this the second
// reading keeps them all resident (see dropPrevious). A v that is not a
// view into a mapped file is left alone; v stays valid either way.
func (f *File) Release(v []float32) {
	if !f.mapped || len(v) == 0 || len(f.data) == 0 {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), 4*len(v))
	base := uintptr(unsafe.Pointer(unsafe.SliceData(f.data)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	if p < base || p-base+uintptr(len(b)) > uintptr(len(f.data)) {
		return
	}
	_ = dropResident(pageRange(f.data, b))
}

// pageRange is the part of the mapping data covering the whole pages
// inside view (madvise works on whole pages, and dropping a page that
// view shares with a neighbouring tensor would only cost a fault).
func pageRange(data, view []byte) []byte {
	page := os.Getpagesize()
	base := uintptr(unsafe.Pointer(unsafe.SliceData(data)))
	lo := int(uintptr(unsafe.Pointer(unsafe.SliceData(view))) - base)
	hi := lo + len(view)
	lo = (lo + page - 1) / page * page
	hi = hi / page * page
	if hi <= lo {
		return nil
	}
	return data[lo:hi]
}

// Open maps the file at path (or reads it, where mapping is unavailable)
// and validates its header. The file must not be truncated or rewritten in
// place while the File is open (see the package documentation); OpenRead
// has no such condition.
func Open(path string) (*File, error) { return open(path, mapFile) }

// OpenRead reads the whole file at path into memory and validates its
// header: changes to the file after it returns cannot affect the File.
func OpenRead(path string) (*File, error) { return open(path, readAll) }

func open(path string, load func(*os.File, int) ([]byte, func() error, bool, error)) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkRegular(path, fi); err != nil {
		return nil, err
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes is larger than the %d-byte limit", path, fi.Size(), int64(MaxFileSize))
	}
	data, release, mapped, err := load(f, int(fi.Size()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tf, err := parse(data)
	if err != nil {
		release()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tf.release, tf.mapped = release, mapped
	return tf, nil
}

// Parse validates a safetensors image held in memory. The File refers to
// data; it must not change while the File is used.
func Parse(data []byte) (*File, error) {
	tf, err := parse(data)
	if err != nil {
		return nil, err
	}
	tf.release = func() error { return nil }
	return tf, nil
}

func parse(data []byte) (*File, error) {
	if len(data) < 8 {
		return nil, errors.New("not a safetensors file: shorter than its 8-byte header length")
	}
	st, err := safetensors.Deserialize(data)
	if err != nil {
		return nil, fmt.Errorf("malformed safetensors file: %w", err)
	}
	_, md, err := safetensors.ReadMetadata(data)
	if err != nil {
		return nil, fmt.Errorf("malformed safetensors file: %w", err)
	}
	meta := md.Metadata()
	if meta == nil {
		meta = map[string]string{}
	}
	return &File{st: st, meta: meta, data: data}, nil
}

// Close releases the mapping. Tensors obtained from the file must not be
// used afterwards.
func (f *File) Close() error {
	if f.release == nil {
		return nil
	}
	err := f.release()
	f.release = nil
	return err
}

// Metadata returns the header's __metadata__ strings.
func (f *File) Metadata() map[string]string {
	return f.meta
}

// Names returns the tensor names, sorted.
func (f *File) Names() []string {
	n := f.st.Names()
	sort.Strings(n)
	return n
}

// Has reports whether the file holds a tensor of that name.
func (f *File) Has(name string) bool {
	_, ok := f.st.Tensor(name)
	return ok
}

// Shape returns a tensor's shape.
func (f *File) Shape(name string) ([]int, error) {
	tv, ok := f.st.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("no tensor %q in file", name)
	}
	return shapeOf(tv)
}

func shapeOf(tv safetensors.TensorView) ([]int, error) {
	shape := make([]int, len(tv.Shape()))
	for i, d := range tv.Shape() {
		if d > math.MaxInt32 {
			return nil, fmt.Errorf("dimension %d of %d is too large", i, d)
		}
		shape[i] = int(d)
	}
	return shape, nil
}

// inPlaceMin is the smallest F32 tensor Float32 returns in place. Smaller
// ones (biases, norms, small tables) are copied: a model keeps them and
// reads them on every pass, and each read of a mapped page maps the page
// cache's whole folio around it (2 MB on file systems with large folios),
// so views of a ViT-B/16's biases kept ~100 MB of the file resident.
const inPlaceMin = 1 << 20

// Float32 returns a tensor as float32 values with its shape. F32 data of
// at least inPlaceMin bytes is returned in place (no copy) when the
// platform is little-endian and the data is 4-byte aligned; the caller
// must then not modify it. Smaller F32 tensors are copied, F16 and BF16
// converted, into a new slice.
func (f *File) Float32(name string) ([]float32, []int, error) {
	tv, ok := f.st.Tensor(name)
	if !ok {
		return nil, nil, fmt.Errorf("no tensor %q in file", name)
	}
	shape, err := shapeOf(tv)
	if err != nil {
		return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	raw := tv.Data()
	switch tv.DType() {
	case safetensors.F32:
		n := len(raw) / 4
		if n == 0 {
			return []float32{}, shape, nil
		}
		if littleEndian && uintptr(unsafe.Pointer(&raw[0]))%4 == 0 {
			in := unsafe.Slice((*float32)(unsafe.Pointer(&raw[0])), n)
			if len(raw) >= inPlaceMin {
				f.dropPrevious(raw)
				return in, shape, nil
			}
			return append([]float32(nil), in...), shape, nil
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		return out, shape, nil
	case safetensors.BF16:
		out := make([]float32, len(raw)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
		return out, shape, nil
	case safetensors.F16:
		out := make([]float32, len(raw)/2)
		for i := range out {
			out[i] = HalfToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
		}
		return out, shape, nil
	}
	return nil, nil, fmt.Errorf("tensor %q has dtype %s; want F32, F16 or BF16", name, tv.DType())
}

// Int64 returns an I64 tensor's values (copied) with its shape.
func (f *File) Int64(name string) ([]int64, []int, error) {
	tv, ok := f.st.Tensor(name)
	if !ok {
		return nil, nil, fmt.Errorf("no tensor %q in file", name)
	}
	if tv.DType() != safetensors.I64 {
		return nil, nil, fmt.Errorf("tensor %q has dtype %s; want I64", name, tv.DType())
	}
	shape, err := shapeOf(tv)
	if err != nil {
		return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	raw := tv.Data()
	out := make([]int64, len(raw)/8)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
	}
	return out, shape, nil
}

// HalfToFloat32 converts an IEEE 754 binary16 value to float32 exactly.
func HalfToFloat32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // Inf or NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp == 0 && mant == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal: normalise
		e := uint32(127 - 15 + 1)
		for mant&0x400 == 0 {
			mant <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (mant&0x3ff)<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()
