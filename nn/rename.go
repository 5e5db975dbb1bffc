package nn

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Piece is part of a stored tensor: rows [Lo, Hi) of its first dimension
// (Hi = 0: to the end).
type Piece struct {
	Name   string
	Lo, Hi int
}

// Renamed presents a checkpoint under a family's own tensor names: each
// name the family reads is one stored tensor, or stored pieces
// concatenated along the first dimension (transformers' query, key and
// value into one qkv; a packed in_proj split into q and kv), optionally
// reshaped. It is made once at load; a concatenation is copied once, when
// the family reads it, and never again. Stored tensors that no name maps
// are listed under their own names (so an unused one is an error naming
// it), except those Skip accepts.
type Renamed struct {
	src    Checkpoint
	parts  map[string][]Piece
	want   map[string][]Piece // every name mapped, its pieces stored or not (Explain)
	shapes map[string][]int
	used   map[string]bool // stored names some mapped name reads
	skip   func(stored string) bool
}

// NewRenamed wraps src; skip (may be nil) names stored tensors that are not
// the model's (a text tower) or are derived buffers, and need no accounting.
func NewRenamed(src Checkpoint, skip func(stored string) bool) *Renamed {
	return &Renamed{src: src, parts: map[string][]Piece{}, want: map[string][]Piece{}, shapes: map[string][]int{}, used: map[string]bool{}, skip: skip}
}

// Map names the stored tensor stored as name, when it exists.
func (r *Renamed) Map(name, stored string) {
	r.Join(name, nil, Piece{Name: stored})
}

// Join names the concatenation of pieces (along the first dimension) as
// name, reshaped to shape when it is not nil (the element count must
// agree). A piece whose tensor is missing makes the name missing.
func (r *Renamed) Join(name string, shape []int, pieces ...Piece) {
	r.want[name] = pieces
	for _, p := range pieces {
		if !r.src.Has(p.Name) {
			return
		}
	}
	for _, p := range pieces {
		r.used[p.Name] = true
	}
	r.parts[name] = pieces
	if shape != nil {
		r.shapes[name] = shape
	}
}

// Has reports whether name is mapped (or, unmapped, stored under it).
func (r *Renamed) Has(name string) bool {
	if _, ok := r.parts[name]; ok {
		return true
	}
	return !r.used[name] && r.src.Has(name)
}

// Release passes v on to the source, when it can release tensors (a
// concatenation of parts is a copy, which the source leaves alone).
func (r *Renamed) Release(v []float32) {
	if rs, ok := r.src.(releaser); ok {
		rs.Release(v)
	}
}

// Float32 returns the tensor the name maps to.
func (r *Renamed) Float32(name string) ([]float32, []int, error) {
	pieces, ok := r.parts[name]
	if !ok {
		if r.used[name] {
			return nil, nil, fmt.Errorf("no tensor %q", name)
		}
		return r.src.Float32(name)
	}
	var data []float32
	var shape []int
	for i, p := range pieces {
		v, s, err := r.src.Float32(p.Name)
		if err != nil {
			return nil, nil, err
		}
		if len(s) == 0 {
			return nil, nil, fmt.Errorf("%q is a scalar, not rows", p.Name)
		}
		row := Product(s[1:])
		lo, hi := p.Lo, p.Hi
		if hi == 0 {
			hi = s[0]
		}
		if lo < 0 || hi > s[0] || lo >= hi {
			return nil, nil, fmt.Errorf("%q has %d rows, not rows %d..%d", p.Name, s[0], lo, hi)
		}
		if i == 0 {
			shape = append([]int{0}, s[1:]...)
		} else if !slices.Equal(shape[1:], s[1:]) {
			return nil, nil, fmt.Errorf("%q has shape %v; the pieces of %q must agree past the first dimension (%v)", p.Name, s, name, shape[1:])
		}
		if len(pieces) == 1 && lo == 0 && hi == s[0] {
			data = v // no copy: the stored tensor itself
		} else {
			data = append(data, v[lo*row:hi*row]...)
		}
		shape[0] += hi - lo
	}
	if want, ok := r.shapes[name]; ok {
		if Product(want) != len(data) {
			return nil, nil, fmt.Errorf("%s (%d values) cannot be viewed as %v", describe(pieces), len(data), want)
		}
		shape = want
	}
	return data, shape, nil
}

// Shape is the shape Float32 gives, read from the stored shapes.
func (r *Renamed) Shape(name string) ([]int, error) {
	pieces, ok := r.parts[name]
	if !ok {
		return r.src.Shape(name)
	}
	if s, ok := r.shapes[name]; ok {
		return s, nil
	}
	var shape []int
	for i, p := range pieces {
		s, err := r.src.Shape(p.Name)
		if err != nil || len(s) == 0 {
			return nil, fmt.Errorf("%q: not rows", p.Name)
		}
		hi := p.Hi
		if hi == 0 {
			hi = s[0]
		}
		n := hi - p.Lo
		if i == 0 {
			shape = append([]int{0}, s[1:]...)
		}
		shape[0] += n
	}
	return shape, nil
}

// Names lists the mapped names and the stored tensors no name maps (and
// Skip does not accept), sorted.
func (r *Renamed) Names() []string {
	var out []string
	for n := range r.parts {
		out = append(out, n)
	}
	for _, n := range r.src.Names() {
		if !r.used[n] && (r.skip == nil || !r.skip(n)) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Metadata is the stored file's.
func (r *Renamed) Metadata() map[string]string { return r.src.Metadata() }

// Skipped lists the stored tensors Skip accepted.
func (r *Renamed) Skipped() []string {
	var out []string
	for _, n := range r.src.Names() {
		if !r.used[n] && r.skip != nil && r.skip(n) {
			out = append(out, n)
		}
	}
	return out
}

// Explain adds to an error that quotes a mapped name (a missing tensor, a
// wrong shape) the stored names it maps to, so the message names what
// the file holds; other errors (and nil) pass unchanged.
func (r *Renamed) Explain(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for name, pieces := range r.want {
		if strings.Contains(msg, fmt.Sprintf("%q", name)) && !(len(pieces) == 1 && pieces[0].Name == name) {
			return fmt.Errorf("%w (in the file: %s)", err, describe(pieces))
		}
	}
	return err
}

func describe(pieces []Piece) string {
	var names []string
	for _, p := range pieces {
		names = append(names, fmt.Sprintf("%q", p.Name))
	}
	return strings.Join(names, " + ")
}
