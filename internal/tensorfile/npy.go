package tensorfile

import (
	"encoding/binary"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// MaxNPYElements bounds the arrays ParseNPY accepts (1 GiB of float32).
const MaxNPYElements = 1 << 28

var (
	npyDescr   = regexp.MustCompile(`'descr'\s*:\s*'([<>|=]?[a-z]\d+)'`)
	npyFortran = regexp.MustCompile(`'fortran_order'\s*:\s*(True|False)`)
	npyShape   = regexp.MustCompile(`'shape'\s*:\s*\(([^)]*)\)`)
)

// ReadNPY reads a NumPy .npy file holding one float32 (or float64,
// converted) array in C order.
func ReadNPY(path string) ([]float32, []int, error) {
	// float64 values and a header at most: bounded whatever the file is.
	b, err := readFileLimit(path, 8*MaxNPYElements+(1<<16), fmt.Sprintf(".npy file (an array of up to %d values)", MaxNPYElements), "\x93NUMPY")
	if err != nil {
		return nil, nil, err
	}
	v, shape, err := ParseNPY(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, shape, nil
}

// ParseNPY decodes a .npy file held in memory: format versions 1 to 3,
// little-endian float32 or float64, C order. Everything is checked before
// anything is allocated from the header's word.
func ParseNPY(b []byte) ([]float32, []int, error) {
	bad := func(format string, args ...any) ([]float32, []int, error) {
		return nil, nil, fmt.Errorf("npy: "+format, args...)
	}
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return bad("not a .npy file (no \\x93NUMPY magic)")
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return bad("truncated header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return bad("format version %d.%d: want 1, 2 or 3", b[6], b[7])
	}
	if hlen > 1<<16 || start+hlen > len(b) {
		return bad("header of %d bytes does not fit the file (%d bytes)", hlen, len(b))
	}
	header := string(b[start : start+hlen])
	data := b[start+hlen:]
	d := npyDescr.FindStringSubmatch(header)
	if d == nil {
		return bad("header names no dtype: %q", header)
	}
	if strings.HasPrefix(d[1], ">") {
		return bad("big-endian dtype %s: want little-endian", d[1])
	}
	var size int
	switch strings.TrimLeft(d[1], "<|=") {
	case "f4":
		size = 4
	case "f8":
		size = 8
	default:
		return bad("dtype %s: want little-endian float32 ('<f4') or float64 ('<f8')", d[1])
	}
	if f := npyFortran.FindStringSubmatch(header); f == nil || f[1] != "False" {
		return bad("Fortran-ordered or unknown order: want C order")
	}
	s := npyShape.FindStringSubmatch(header)
	if s == nil {
		return bad("header has no shape: %q", header)
	}
	var shape []int
	n := 1
	for _, part := range strings.Split(s[1], ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		v, err := strconv.Atoi(part)
		if err != nil || v < 0 || v > MaxNPYElements {
			return bad("shape entry %q", part)
		}
		shape = append(shape, v)
		if v != 0 && n > MaxNPYElements/v {
			return bad("shape %v holds more than %d values", shape, MaxNPYElements)
		}
		n *= v
	}
	if len(data) != n*size {
		return bad("shape %v needs %d bytes of data, the file has %d", shape, n*size, len(data))
	}
	out := make([]float32, n)
	for i := range out {
		if size == 4 {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		} else {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(data[8*i:])))
		}
	}
	return out, shape, nil
}
