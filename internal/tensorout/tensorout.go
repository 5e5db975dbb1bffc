// Package tensorout writes float32 tensors to the two files other tools read
// most: NumPy's .npy (format version 1.0, one array per file) and
// safetensors (many named arrays plus string metadata).
//
//	err := tensorout.WriteNPYFile("features.npy", []int{1, 197, 768}, feats)
//	// numpy.load("features.npy").shape == (1, 197, 768)
//
//	err = tensorout.WriteSafetensorsFile("out.safetensors",
//		map[string]tensorout.Tensor{"features": tensorout.F32([]int{1, 197, 768}, feats)},
//		map[string]string{"image": "photo.jpg"})
package tensorout

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nlpodyssey/safetensors"
)

// Tensor is one named array to write: a dtype, a shape and its little-endian
// bytes. It implements safetensors.View.
type Tensor struct {
	dtype safetensors.DType
	shape []uint64
	data  []byte
}

// F32 makes a float32 tensor of the given shape from data (copied), which
// must hold exactly the product of shape values; it panics otherwise, as a
// slice index out of range would.
func F32(shape []int, data []float32) Tensor {
	n, err := count(shape)
	if err != nil || n != len(data) {
		panic(fmt.Sprintf("tensorout: %d values for shape %v", len(data), shape))
	}
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{dtype: safetensors.F32, shape: dims(shape), data: b}
}

// Raw wraps bytes already in safetensors layout (for copying a tensor from
// one file to another unchanged).
func Raw(v safetensors.View) Tensor {
	return Tensor{dtype: v.DType(), shape: v.Shape(), data: v.Data()}
}

// DType, Shape, Data and DataLen implement safetensors.View.
func (t Tensor) DType() safetensors.DType { return t.dtype }

// Shape returns the tensor's dimensions.
func (t Tensor) Shape() []uint64 { return t.shape }

// Data returns the tensor's little-endian bytes.
func (t Tensor) Data() []byte { return t.data }

// DataLen returns len(Data()).
func (t Tensor) DataLen() uint64 { return uint64(len(t.data)) }

// WriteSafetensors writes the tensors and the metadata strings (the header's
// __metadata__) in safetensors format. Tensors are laid out in name order.
func WriteSafetensors(w io.Writer, tensors map[string]Tensor, metadata map[string]string) error {
	if len(metadata) == 0 {
		metadata = nil // the format wants no __metadata__ rather than an empty one
	}
	return safetensors.SerializeToWriter(tensors, metadata, w)
}

// WriteSafetensorsFile writes a safetensors file at path (see WriteSafetensors).
func WriteSafetensorsFile(path string, tensors map[string]Tensor, metadata map[string]string) error {
	return writeFile(path, func(w io.Writer) error { return WriteSafetensors(w, tensors, metadata) })
}

// WriteNPY writes one float32 array in NumPy's .npy format, version 1.0
// (little-endian '<f4', C order). len(data) must be the product of shape.
func WriteNPY(w io.Writer, shape []int, data []float32) error {
	n, err := count(shape)
	if err != nil {
		return err
	}
	if n != len(data) {
		return fmt.Errorf("tensorout: %d values for shape %v (%d)", len(data), shape, n)
	}
	dimsText := make([]string, len(shape))
	for i, d := range shape {
		dimsText[i] = strconv.Itoa(d)
	}
	tuple := "(" + strings.Join(dimsText, ", ")
	if len(shape) == 1 {
		tuple += "," // a Python 1-tuple
	}
	tuple += ")"
	header := "{'descr': '<f4', 'fortran_order': False, 'shape': " + tuple + ", }"
	// Magic (6) + version (2) + header length (2) + header, padded with
	// spaces and ended by a newline to a multiple of 64 bytes, as NumPy does.
	total := 10 + len(header) + 1
	pad := (64 - total%64) % 64
	header += strings.Repeat(" ", pad) + "\n"
	if len(header) > math.MaxUint16 {
		return fmt.Errorf("tensorout: shape %v makes a header too long for .npy version 1.0", shape)
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("\x93NUMPY\x01\x00")
	binary.Write(bw, binary.LittleEndian, uint16(len(header)))
	bw.WriteString(header)
	var b [4]byte
	for _, v := range data {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(v))
		bw.Write(b[:])
	}
	return bw.Flush()
}

// WriteNPYFile writes a .npy file at path (see WriteNPY).
func WriteNPYFile(path string, shape []int, data []float32) error {
	return writeFile(path, func(w io.Writer) error { return WriteNPY(w, shape, data) })
}

// writeFile writes through a temporary file beside the target, renamed
// into place, so a failed write never leaves a truncated file under the
// final name. A target that exists must be a regular file (renaming over a
// device or a pipe would replace it, not write to it); a symbolic link is
// followed, so the file it points to is replaced and the link kept.
func writeFile(path string, write func(io.Writer) error) error {
	target, err := outputTarget(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), ".tensorout-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, errors.Unwrap(err))
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), target)
}

func count(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && n > math.MaxInt32/d) {
			return 0, fmt.Errorf("tensorout: bad shape %v", shape)
		}
		n *= d
	}
	return n, nil
}

func dims(shape []int) []uint64 {
	out := make([]uint64, len(shape))
	for i, d := range shape {
		out[i] = uint64(d)
	}
	return out
}

// CheckWritable reports, before any work is done, whether a file can be
// written at path: its folder exists and takes a new file, and path is not
// a folder.
func CheckWritable(path string) error {
	target, err := outputTarget(path)
	if err != nil {
		return err
	}
	dir := filepath.Dir(target)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cannot write %s: folder %s: %w", path, dir, errors.Unwrap(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("cannot write %s: %s is not a folder", path, dir)
	}
	tmp, err := os.CreateTemp(dir, ".tensorout-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, errors.Unwrap(err))
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}
