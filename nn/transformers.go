package nn

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// Transformers is the config.json that Hugging Face transformers'
// save_pretrained writes: a model_type, the classes that saved it, and the
// architecture's fields (hidden_size, layer_norm_eps, ...). A family that
// runs one of its classes reads the fields it needs with the getters
// below, which name the field in their errors; a missing field takes the
// class default the family passes (save_pretrained omits the keys of a
// nested vision_config that equal the class default).
type Transformers struct {
	ModelType string
	Class     string // architectures[0]
	fields    map[string]json.RawMessage
	err       error // the first bad field
	where     string
}

// ParseTransformers reads a transformers config.json; ok is false when the
// JSON is not one (no model_type).
func ParseTransformers(data []byte) (t *Transformers, ok bool, err error) {
	var f map[string]json.RawMessage
	if json.Unmarshal(data, &f) != nil {
		return nil, false, nil
	}
	var mt string
	if raw, has := f["model_type"]; !has || json.Unmarshal(raw, &mt) != nil || mt == "" {
		return nil, false, nil
	}
	t = &Transformers{ModelType: mt, fields: f}
	if raw, has := f["architectures"]; has && string(raw) != "null" {
		var arch []string
		if json.Unmarshal(raw, &arch) != nil {
			return nil, true, fmt.Errorf("%w: config.json architectures: want a list of class names", ErrConfig)
		}
		if len(arch) > 1 {
			return nil, true, fmt.Errorf("%w: config.json architectures %v: want one class", ErrConfig, arch)
		}
		if len(arch) == 1 {
			t.Class = arch[0]
		}
	}
	return t, true, nil
}

// Sub returns the nested config key (vision_config), whose missing fields
// take the defaults the caller passes; a config without it is an empty one.
func (t *Transformers) Sub(key string) *Transformers {
	s := &Transformers{ModelType: t.ModelType, Class: t.Class, fields: map[string]json.RawMessage{}, where: t.where + key + "."}
	if raw, ok := t.fields[key]; ok && string(raw) != "null" {
		if json.Unmarshal(raw, &s.fields) != nil {
			t.fail("%s: want an object", key)
		}
	}
	return s
}

// Where is the path of a nested config ("vision_config."), "" at the top.
func (t *Transformers) Where() string { return t.where }

// Has reports whether the config states key.
func (t *Transformers) Has(key string) bool {
	raw, ok := t.fields[key]
	return ok && string(raw) != "null"
}

// Err is the first bad field that a getter met (the parent's for a Sub).
func (t *Transformers) Err() error { return t.err }

func (t *Transformers) fail(format string, args ...any) {
	if t.err == nil {
		t.err = fmt.Errorf("%w: config.json %s"+format, append([]any{ErrConfig, t.where}, args...)...)
	}
}

// Int returns field key, a whole number in lo..hi, or def when missing.
func (t *Transformers) Int(key string, def, lo, hi int) int {
	if !t.Has(key) {
		return def
	}
	var f float64
	if json.Unmarshal(t.fields[key], &f) != nil || f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
		t.fail("%s %s: want a whole number in %d..%d", key, t.fields[key], lo, hi)
		return def
	}
	return int(f)
}

// Float returns field key, a finite number in (lo, hi], or def.
func (t *Transformers) Float(key string, def, lo, hi float64) float64 {
	if !t.Has(key) {
		return def
	}
	var f float64
	if json.Unmarshal(t.fields[key], &f) != nil || !(f > lo && f <= hi) {
		t.fail("%s %s: want a number in (%g, %g]", key, t.fields[key], lo, hi)
		return def
	}
	return f
}

// Bool returns field key, or def.
func (t *Transformers) Bool(key string, def bool) bool {
	if !t.Has(key) {
		return def
	}
	var b bool
	if json.Unmarshal(t.fields[key], &b) != nil {
		t.fail("%s %s: want true or false", key, t.fields[key])
		return def
	}
	return b
}

// String returns field key, or def.
func (t *Transformers) String(key, def string) string {
	if !t.Has(key) {
		return def
	}
	var s string
	if json.Unmarshal(t.fields[key], &s) != nil {
		t.fail("%s %s: want a string", key, t.fields[key])
		return def
	}
	return s
}

// Size returns field key as (H, W): one whole number or a list of two, each
// in 1..2^20, or def.
func (t *Transformers) Size(key string, def [2]int) [2]int {
	if !t.Has(key) {
		return def
	}
	var v any
	_ = json.Unmarshal(t.fields[key], &v)
	s, ok := SizePair(v)
	if !ok {
		t.fail("%s %s: want a whole number or a list of two, each in 1..%d", key, t.fields[key], 1<<20)
		return def
	}
	return s
}

// Ints returns field key as a list of whole numbers in lo..hi (at most
// 64), or def.
func (t *Transformers) Ints(key string, def []int, lo, hi int) []int {
	if !t.Has(key) {
		return def
	}
	var fs []float64
	if json.Unmarshal(t.fields[key], &fs) != nil || len(fs) == 0 || len(fs) > 64 {
		t.fail("%s %s: want a list of 1..64 whole numbers", key, t.fields[key])
		return def
	}
	out := make([]int, len(fs))
	for i, f := range fs {
		if f != math.Trunc(f) || f < float64(lo) || f > float64(hi) {
			t.fail("%s %s: want whole numbers in %d..%d", key, t.fields[key], lo, hi)
			return def
		}
		out[i] = int(f)
	}
	return out
}

// Act returns hidden_act (or the key given) as the kernel's name for it:
// "gelu_erf" for gelu, "gelu_tanh" for gelu_new, gelu_pytorch_tanh and
// gelu_fast's tanh form, "quick_gelu"; another value is an error naming it.
func (t *Transformers) Act(key, def string) string {
	a := t.String(key, def)
	switch a {
	case "gelu":
		return "gelu_erf"
	case "gelu_new", "gelu_pytorch_tanh":
		return "gelu_tanh"
	case "quick_gelu":
		return "quick_gelu"
	}
	t.fail("%s %q: anyres runs gelu, gelu_new, gelu_pytorch_tanh and quick_gelu", key, a)
	return "gelu_erf"
}

// Labels returns id2label as a JSON object from class index to name
// (HubConfig.LabelNames' form), or nil.
func (t *Transformers) Labels() json.RawMessage {
	raw, ok := t.fields["id2label"]
	if !ok {
		return nil
	}
	var m map[string]string
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	return raw
}

// NumLabels is the number of entries of id2label (0 without one).
func (t *Transformers) NumLabels() int {
	var m map[string]string
	if raw, ok := t.fields["id2label"]; ok && json.Unmarshal(raw, &m) == nil {
		return len(m)
	}
	return 0
}

// HubFromTransformers makes the HubConfig the front door hands a family
// for a transformers config.json: the class as the architecture, id2label
// as the label names, and the config itself.
func HubFromTransformers(t *Transformers) *HubConfig {
	return &HubConfig{Architecture: t.Class, LabelNames: t.Labels(), Transformers: t}
}

// TransformersClasses lists the transformers classes of every registered
// family, sorted.
func TransformersClasses() []string {
	var out []string
	for _, f := range families {
		out = append(out, f.Transformers...)
	}
	sort.Strings(out)
	return out
}

// TransformersInfo says, for a model loaded from a transformers checkpoint,
// which of transformers' outputs each Output field is ("" where the class
// returns none), and what was skipped.
type TransformersInfo struct {
	Class  string
	Tokens string   // "last_hidden_state"
	Pooled []string // "pooler_output", and "image_embeds" where that is the same vector (SigLIP)
	Logits string   // "logits", or "image_embeds" (CLIP's projection)
	// Skipped is a one-line note on the tensors of the file that are not
	// the vision model (the text tower of a whole CLIP or SigLIP model).
	Skipped string
}
