package kerneltest

import (
	"fmt"
	"math"
	"testing"
)

// GuardVal fills the bands around (and the row padding inside) a Guarded
// output: a NaN with a recognisable payload, so a kernel that writes outside
// its output changes the bits, and one that reads the guards poisons its result.
var GuardVal = math.Float32frombits(0x7fc0dead)

// GuardLen is the length of the bands before and after a Guarded output:
// more than one AVX-512 vector, and odd.
const GuardLen = 37

// Guarded is a kernel's output, a rows×cols matrix with leading dimension ld
// (a slice is one row), inside a buffer whose bands on both sides, and the
// padding between its rows, hold GuardVal. The output starts off elements
// past the band, so off shifts it off 64-byte alignment.
type Guarded struct {
	buf            []float32
	start          int // index of element (0, 0) in buf
	rows, cols, ld int
	dataLen        int // (rows-1)*ld + cols, or 0 for an empty matrix
}

// Slice returns a guarded output of length n, off elements past the band.
func Slice(n, off int) *Guarded { return Matrix(1, n, n, off) }

// Matrix returns a guarded rows×cols output with leading dimension ld
// (ld ≥ cols), off elements past the band.
func Matrix(rows, cols, ld, off int) *Guarded {
	if ld < cols {
		panic(fmt.Sprintf("kerneltest.Matrix: ld %d < cols %d", ld, cols))
	}
	n := 0
	if rows > 0 && cols > 0 {
		n = (rows-1)*ld + cols
	}
	g := &Guarded{
		buf:   make([]float32, GuardLen+off+n+GuardLen),
		start: GuardLen + off,
		rows:  rows, cols: cols, ld: ld, dataLen: n,
	}
	for i := range g.buf {
		g.buf[i] = GuardVal
	}
	return g
}

// Data returns the output as the kernel is handed it: from element (0, 0)
// to the last element of the last row, its capacity ending there too.
func (g *Guarded) Data() []float32 {
	return g.buf[g.start : g.start+g.dataLen : g.start+g.dataLen]
}

// At returns element (i, j).
func (g *Guarded) At(i, j int) float32 { return g.buf[g.start+i*g.ld+j] }

// Fill sets every element (i, j) of the matrix (not its row padding) to
// f(i, j) and returns g.
func (g *Guarded) Fill(f func(i, j int) float32) *Guarded {
	for i := 0; i < g.rows; i++ {
		for j := 0; j < g.cols; j++ {
			g.buf[g.start+i*g.ld+j] = f(i, j)
		}
	}
	return g
}

// inside reports whether buffer index p is an element of the matrix.
func (g *Guarded) inside(p int) bool {
	q := p - g.start
	return q >= 0 && q < g.dataLen && q%g.ld < g.cols
}

// Check fails tb at the first guard value (band or row padding) that changed,
// saying where it lies relative to the output.
func (g *Guarded) Check(tb testing.TB, what string) {
	tb.Helper()
	for p, v := range g.buf {
		if g.inside(p) || math.Float32bits(v) == math.Float32bits(GuardVal) {
			continue
		}
		q := p - g.start
		var where string
		switch {
		case q < 0:
			where = fmt.Sprintf("%d before the output", -q)
		case q >= g.dataLen:
			where = fmt.Sprintf("%d past the end of the output", q-g.dataLen+1)
		default:
			where = fmt.Sprintf("in the padding of row %d, column %d", q/g.ld, q%g.ld)
		}
		tb.Fatalf("%s: wrote outside its output: guard %s (buffer index %d) changed to %v", what, where, p, v)
	}
}
