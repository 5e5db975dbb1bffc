package serve

import (
	"fmt"
	"math"
	"strconv"
)

// parseData reads a v2 tensor's JSON data into dst (len: the shape's
// product): either a flat row-major array of numbers or arrays nested to
// the shape, every level of the shape's length. Anything else (strings,
// ragged or mis-sized arrays, non-finite numbers) is an error naming where.
func parseData(b []byte, shape []int, dst []float32) error {
	p := dataParser{b: b, shape: shape, dst: dst}
	p.space()
	flat := false
	if i := p.i + 1; p.i < len(b) && b[p.i] == '[' {
		for i < len(b) && isSpace(b[i]) {
			i++
		}
		flat = i < len(b) && b[i] != '['
	}
	if err := p.array(0, flat); err != nil {
		return err
	}
	if p.space(); p.i != len(b) {
		return fmt.Errorf("unexpected %q after the array", b[p.i])
	}
	if p.n != len(dst) {
		return fmt.Errorf("%d values for shape %v: want %d", p.n, shape, len(dst))
	}
	return nil
}

type dataParser struct {
	b     []byte
	i     int
	shape []int
	dst   []float32
	n     int // values read
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *dataParser) space() {
	for p.i < len(p.b) && isSpace(p.b[p.i]) {
		p.i++
	}
}

// array reads the array at nesting level (0: the outermost); flat means
// one array of every value. Recursion is bounded by the shape's length.
func (p *dataParser) array(level int, flat bool) error {
	if p.i >= len(p.b) || p.b[p.i] != '[' {
		return p.want("an array")
	}
	p.i++
	leaf := flat || level == len(p.shape)-1
	count := 0
	for {
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ']' && count == 0 {
			break
		}
		var err error
		if leaf {
			err = p.number()
		} else {
			err = p.array(level+1, false)
		}
		if err != nil {
			return err
		}
		count++
		p.space()
		if p.i < len(p.b) && p.b[p.i] == ',' {
			p.i++
			continue
		}
		break
	}
	if p.i >= len(p.b) || p.b[p.i] != ']' {
		return p.want("',' or ']'")
	}
	p.i++
	if !flat && count != p.shape[level] {
		return fmt.Errorf("an array at depth %d has %d elements: shape %v wants %d", level+1, count, p.shape, p.shape[level])
	}
	return nil
}

func (p *dataParser) number() error {
	start := p.i
	for p.i < len(p.b) && (p.b[p.i] >= '0' && p.b[p.i] <= '9' || p.b[p.i] == '-' || p.b[p.i] == '+' || p.b[p.i] == '.' || p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
	}
	if start == p.i {
		p.i = start
		return p.want("a number")
	}
	v, err := strconv.ParseFloat(string(p.b[start:p.i]), 32)
	if err != nil || math.IsInf(v, 0) {
		return fmt.Errorf("value %d, %q: want a finite float32", p.n, p.b[start:p.i])
	}
	if p.n >= len(p.dst) {
		return fmt.Errorf("more than the %d values of shape %v", len(p.dst), p.shape)
	}
	p.dst[p.n] = float32(v)
	p.n++
	return nil
}

// want is a syntax error at the current position.
func (p *dataParser) want(what string) error {
	if p.i >= len(p.b) {
		return fmt.Errorf("the data ends where %s should be", what)
	}
	return fmt.Errorf("at byte %d: want %s, found %q", p.i, what, p.b[p.i])
}
