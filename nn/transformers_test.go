package nn

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// fakeCk is a Checkpoint over a MapSource.
type fakeCk struct{ MapSource }

func (f fakeCk) Shape(name string) ([]int, error) {
	t, ok := f.MapSource[name]
	if !ok {
		return nil, errors.New("no tensor")
	}
	return t.Shape, nil
}
func (fakeCk) Metadata() map[string]string { return nil }

func TestRenamed(t *testing.T) {
	src := fakeCk{MapSource{
		"q":      {Data: []float32{1, 2, 3, 4}, Shape: []int{2, 2}},
		"k":      {Data: []float32{5, 6, 7, 8}, Shape: []int{2, 2}},
		"packed": {Data: []float32{1, 2, 3, 4, 5, 6}, Shape: []int{3, 2}},
		"vec":    {Data: []float32{9, 9, 9}, Shape: []int{3}},
		"odd":    {Data: []float32{1, 2, 3}, Shape: []int{1, 3}},
		"text.x": {Data: []float32{0}, Shape: []int{1}},
		"extra":  {Data: []float32{0}, Shape: []int{1}},
	}}
	r := NewRenamed(src, func(n string) bool { return strings.HasPrefix(n, "text.") })
	r.Join("qk", nil, Piece{Name: "q"}, Piece{Name: "k"})
	r.Join("tail", nil, Piece{Name: "packed", Lo: 1})
	r.Join("mid", nil, Piece{Name: "packed", Lo: 1, Hi: 2})
	r.Join("row", []int{1, 1, 3}, Piece{Name: "vec"})
	r.Join("bad", nil, Piece{Name: "q"}, Piece{Name: "odd"})
	r.Map("gone", "absent")
	for _, c := range []struct {
		name  string
		data  []float32
		shape []int
	}{
		{"qk", []float32{1, 2, 3, 4, 5, 6, 7, 8}, []int{4, 2}},
		{"tail", []float32{3, 4, 5, 6}, []int{2, 2}},
		{"mid", []float32{3, 4}, []int{1, 2}},
		{"row", []float32{9, 9, 9}, []int{1, 1, 3}},
	} {
		v, s, err := r.Float32(c.name)
		if err != nil || !slices.Equal(v, c.data) || !slices.Equal(s, c.shape) {
			t.Errorf("%s: %v %v %v, want %v %v", c.name, v, s, err, c.data, c.shape)
		}
		if s2, err := r.Shape(c.name); err != nil || !slices.Equal(s2, c.shape) {
			t.Errorf("%s: Shape %v %v, want %v", c.name, s2, err, c.shape)
		}
	}
	if _, _, err := r.Float32("bad"); err == nil || !strings.Contains(err.Error(), `"odd"`) {
		t.Errorf("pieces that disagree: %v", err)
	}
	if r.Has("gone") || r.Has("q") {
		t.Error("Has: a missing mapping, or a stored name that is mapped, must not be there")
	}
	// Listed: mapped names, and stored names nothing maps that skip does not
	// take ("extra"); not the text tower, not the pieces.
	want := []string{"bad", "extra", "mid", "qk", "row", "tail"}
	if got := r.Names(); !slices.Equal(got, want) {
		t.Errorf("Names %v, want %v", got, want)
	}
	if got := r.Skipped(); !slices.Equal(got, []string{"text.x"}) {
		t.Errorf("Skipped %v", got)
	}
	err := r.Explain(errors.New(`"gone" (shape [1]) is missing`))
	if err == nil || !strings.Contains(err.Error(), `"absent"`) {
		t.Errorf("Explain: %v", err)
	}
	if err := r.Explain(errors.New(`"extra" is not part`)); strings.Contains(err.Error(), "in the file") {
		t.Errorf("Explain of an unmapped name: %v", err)
	}
}

func TestTransformersConfig(t *testing.T) {
	tc, ok, err := ParseTransformers([]byte(`{"model_type": "clip", "architectures": ["CLIPModel"], "projection_dim": 24,
		"vision_config": {"hidden_size": 48, "hidden_act": "gelu", "patch_size": [8, 16], "image_size": 2.5},
		"id2label": {"0": "a", "1": "b"}}`))
	if !ok || err != nil || tc.Class != "CLIPModel" || tc.ModelType != "clip" {
		t.Fatalf("%+v %v %v", tc, ok, err)
	}
	v := tc.Sub("vision_config")
	if got := v.Int("hidden_size", 768, 1, 1<<14); got != 48 {
		t.Errorf("hidden_size %d", got)
	}
	if got := v.Int("num_hidden_layers", 12, 0, 100); got != 12 {
		t.Errorf("a missing field takes the default: %d", got)
	}
	if got := v.Act("hidden_act", "quick_gelu"); got != "gelu_erf" {
		t.Errorf("act %q", got)
	}
	if got := v.Size("patch_size", [2]int{}); got != [2]int{8, 16} {
		t.Errorf("patch_size %v", got)
	}
	if v.Err() != nil {
		t.Fatal(v.Err())
	}
	v.Size("image_size", [2]int{224, 224})
	if err := v.Err(); err == nil || !strings.Contains(err.Error(), "vision_config.image_size") {
		t.Errorf("a fractional size: %v", err)
	}
	if tc.NumLabels() != 2 || HubFromTransformers(tc).Labels(2)[1] != "b" {
		t.Error("id2label")
	}
	for _, bad := range []string{`{"model_type": "vit", "architectures": "ViTModel"}`, `{"model_type": "vit", "architectures": ["A", "B"]}`} {
		if _, ok, err := ParseTransformers([]byte(bad)); !ok || err == nil || !strings.Contains(err.Error(), "architectures") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	if _, ok, _ := ParseTransformers([]byte(`{"architecture": "vit_base_patch16_224"}`)); ok {
		t.Error("timm's config.json taken for transformers'")
	}
}
