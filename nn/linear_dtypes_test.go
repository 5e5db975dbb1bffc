package nn

import (
	"slices"
	"testing"
)

// int8Source is a MapSource that also holds int8 tensors, as a quantized
// checkpoint does (tensorfile.File).
type int8Source struct {
	MapSource
	i8 map[string][]int8
}

func (s int8Source) Has(name string) bool { _, ok := s.i8[name]; return ok || s.MapSource.Has(name) }

func (s int8Source) DType(name string) string {
	if _, ok := s.i8[name]; ok {
		return "I8"
	}
	return "F32"
}

func (s int8Source) Int8(name string) ([]int8, []int, error) {
	return s.i8[name], []int{len(s.i8[name]) / 3, 3}, nil
}

// TestLinearsStacked: EVA's separate q/k/v projections, stored as int8,
// are packed with their stored codes and scales stacked by rows (not
// re-quantized: these rows' largest code is below 127, so re-quantizing
// would change the scales); KeepF32 naming one part keeps the stacked
// layer float32.
func TestLinearsStacked(t *testing.T) {
	const d = 3
	src := int8Source{MapSource: MapSource{}, i8: map[string][]int8{}}
	var scales []float32
	for i, p := range []string{"q_proj", "k_proj", "v_proj"} {
		src.i8["a."+p+".weight"] = []int8{int8(10 * i), -50, 3, 7, 8, 9, -100, 1, 2}
		s := []float32{0.5, 0.25 * float32(i+1), 2}
		src.MapSource["a."+p+".weight"+ScaleSuffix] = Tensor{s, []int{d}}
		scales = append(scales, s...)
	}
	w := NewWeights(src)
	r := ReadQKV(w, "a.", d)
	if err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	l := NewLinears(w, Precision{DType: Int8}).Build(r, nil)
	if l.Q == nil || !slices.Equal(l.Q.Scales(), scales) {
		t.Errorf("stacked int8 layer: scales %v, want the stored %v", l.Q.Scales(), scales)
	}
	kept := NewLinears(w, Precision{DType: Int8, KeepF32: []string{"a.k_proj"}}).Build(r, nil)
	if kept.W == nil || kept.Q != nil {
		t.Error("KeepF32 a.k_proj: the stacked q/k/v layer is not float32")
	}
	if b := NewLinears(w, Precision{DType: BF16}).Build(r, nil); b.H == nil {
		t.Error("bf16: no bfloat16 weight")
	}
}

// releaseSource is a MapSource that records the tensors released to it.
type releaseSource struct {
	MapSource
	released *[][]float32
}

func (s releaseSource) Release(v []float32) { *s.released = append(*s.released, v) }

func (s releaseSource) Shape(name string) ([]int, error) { return s.MapSource[name].Shape, nil }

func (s releaseSource) Metadata() map[string]string { return nil }

// TestLinearsReleaseWhatTheyPacked: every format packs its own copy of the
// weight and then gives the source's tensor back (a mapped file's pages),
// directly and through Renamed.
func TestLinearsReleaseWhatTheyPacked(t *testing.T) {
	for _, dt := range []string{F32, BF16, Int8} {
		var released [][]float32
		src := releaseSource{MapSource: MapSource{"l.weight": Tensor{[]float32{1, 2, 3, 4, 5, 6}, []int{2, 3}}}, released: &released}
		for _, s := range []Source{src, NewRenamed(src, nil)} {
			released = nil
			w := NewWeights(s)
			weight := w.Get("l.weight", 2, 3)
			l := NewLinears(w, Precision{DType: dt}).New("l", weight, nil, 2, 3, nil)
			if l.In != 3 || l.Out != 2 {
				t.Fatalf("%s: built %d×%d", dt, l.Out, l.In)
			}
			if len(released) != 1 || &released[0][0] != &weight[0] {
				t.Errorf("%s, %T: released %d tensors, want the weight once", dt, s, len(released))
			}
			// After a norm, int8 folds the norm into a new weight: the
			// source's tensor is still the one given back.
			released = nil
			norm := &LayerNorm{W: []float32{1, 2, 3}, B: []float32{0.5, 0, -1}, Eps: 1e-6}
			NewLinears(w, Precision{DType: dt}).NewAfter(norm, "l", weight, nil, 2, 3, nil)
			found := false
			for _, v := range released {
				found = found || len(v) > 0 && &v[0] == &weight[0]
			}
			if !found {
				t.Errorf("%s, %T: NewAfter released %d tensors, not the weight read from the source", dt, s, len(released))
			}
		}
	}
}
