package nn

import (
	"fmt"
	"slices"
	"strings"

	"github.com/anyres/anyres/internal/tensorfile"
)

// Source is where weights come from: a safetensors file, a MapSource built
// in code, or anything that can hand out float32 tensors by name.
type Source interface {
	// Float32 returns the tensor's values (converted to float32) and shape.
	Float32(name string) ([]float32, []int, error)
	// Has reports whether the source holds the tensor.
	Has(name string) bool
}

// Lister is a Source that can list its tensors; loaders then account for
// every one of them (a tensor no layer reads is an error).
type Lister interface {
	Names() []string
}

// MapSource is an in-memory tensor source: name → (values, shape). It lets
// models be built from weights made in code (random weights for benchmarks,
// converted checkpoints).
type MapSource map[string]Tensor

// Tensor is a float32 tensor with its shape.
type Tensor struct {
	Data  []float32
	Shape []int
}

// Float32 returns the tensor's values and shape.
func (s MapSource) Float32(name string) ([]float32, []int, error) {
	t, ok := s[name]
	if !ok {
		return nil, nil, fmt.Errorf("no tensor %q", name)
	}
	return t.Data, t.Shape, nil
}

// Has reports whether the source holds name.
func (s MapSource) Has(name string) bool {
	_, ok := s[name]
	return ok
}

// Names lists the tensors, sorted.
func (s MapSource) Names() []string {
	names := make([]string, 0, len(s))
	for n := range s {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Product is the number of elements of a shape.
func Product(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Weights reads a model's tensors by name, checks each one's shape (and,
// unless allowed, that it is finite), keeps the first error, and at Finish
// reports any tensor of the source that nothing read: every load path
// accounts for every tensor, so a checkpoint of another architecture is
// refused rather than run wrongly.
type Weights struct {
	src            Source
	used           map[string]bool
	err            error
	AllowNonFinite bool // accept NaN and ±Inf in weights
	// Ignore reports names that are not weights and need no accounting
	// (e.g. the reference inputs and outputs stored beside the weights of
	// a test file); nil ignores nothing.
	Ignore func(name string) bool
	int8s  map[string]int8Tensor // int8 weights read from a quantized file (linear_dtypes.go)
}

// NewWeights reads from src.
func NewWeights(src Source) *Weights { return &Weights{src: src, used: map[string]bool{}} }

// Has reports whether the source holds name (and counts it as looked at,
// not as used).
func (w *Weights) Has(name string) bool { return w.src.Has(name) }

// Get returns tensor name, which must exist and have exactly shape want.
// After the first error it returns nil and keeps that error.
func (w *Weights) Get(name string, want ...int) []float32 {
	if w.err != nil {
		return nil
	}
	w.used[name] = true
	if !w.src.Has(name) {
		w.err = fmt.Errorf("%w: %q (shape %v) is missing", ErrWeight, name, want)
		return nil
	}
	v, shape, err := w.float32(name)
	if err != nil {
		w.err = fmt.Errorf("%w: %q: %v", ErrWeight, name, err)
		return nil
	}
	if !slices.Equal(shape, want) {
		w.err = fmt.Errorf("%w: %q has shape %v, want %v", ErrWeight, name, shape, want)
		return nil
	}
	if len(v) != Product(want) {
		w.err = fmt.Errorf("%w: %q has %d values for shape %v", ErrWeight, name, len(v), want)
		return nil
	}
	if !w.AllowNonFinite {
		if err := tensorfile.CheckFinite(name, v); err != nil {
			w.err = fmt.Errorf("%w: %q holds a non-finite value (%v)", ErrWeight, name, err)
			return nil
		}
	}
	return v
}

// releaser is a Source whose tensors can give their memory back once a
// layer has copied them (tensorfile.File: a mapped file's pages).
type releaser interface{ Release(v []float32) }

// release tells the source that v, a tensor Get returned, has been copied
// (packed) and is not needed resident any more; it stays valid. A nil w
// (layers built without a Weights) does nothing.
func (w *Weights) release(v []float32) {
	if w == nil {
		return
	}
	if r, ok := w.src.(releaser); ok {
		r.Release(v)
	}
}

// Optional returns tensor name with shape want when the source has it,
// else nil.
func (w *Weights) Optional(name string, want ...int) []float32 {
	if !w.src.Has(name) {
		return nil
	}
	return w.Get(name, want...)
}

// Fail records err (wrapped in ErrConfig unless it already says what it
// is) if no error came first.
func (w *Weights) Fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// Err is the first error so far.
func (w *Weights) Err() error { return w.err }

// Finish returns the first error, or an error naming the tensors of the
// source that no Get read.
func (w *Weights) Finish() error {
	if w.err != nil {
		return w.err
	}
	l, ok := w.src.(Lister)
	if !ok {
		return nil
	}
	var unused []string
	for _, n := range l.Names() {
		if !w.used[n] && (w.Ignore == nil || !w.Ignore(n)) {
			unused = append(unused, n)
		}
	}
	if len(unused) == 0 {
		return nil
	}
	more := ""
	if len(unused) > 5 {
		more = fmt.Sprintf(" and %d more", len(unused)-5)
		unused = unused[:5]
	}
	return fmt.Errorf("%w: tensor %s%s not part of the architecture (the checkpoint is another model, or the config contradicts it)",
		ErrWeight, quoteAll(unused), more)
}

func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}
