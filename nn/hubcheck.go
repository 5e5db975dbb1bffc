package nn

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// ReadHub reads timm's hub config.json strictly. It returns (nil, nil) for
// a JSON object that names no architecture (not timm's hub config: a
// family's own resolved config, say), and an error wrapping ErrConfig that
// names the field for anything else that is wrong: not JSON, not an object,
// a field of the wrong type, a fraction where a whole number belongs, a
// list of the wrong length, a number out of its range (one that would make
// the model's outputs non-finite included). A config that cannot be read is
// never dropped silently for another source of facts.
func ReadHub(data []byte) (*HubConfig, error) {
	var top any
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, fmt.Errorf("%w: not JSON: %v", ErrConfig, err)
	}
	obj, ok := top.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s, not a JSON object", ErrConfig, jsonKind(top))
	}
	arch, has := obj["architecture"]
	if !has {
		return nil, nil
	}
	if s, ok := arch.(string); !ok || strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("%w: architecture: want a timm model name, got %s", ErrConfig, jsonKind(arch))
	}
	// Only timm's fields: another key (a family's own resolved config that
	// also names its architecture, say in_chans or norm_eps) would be
	// dropped without a word.
	for k := range obj {
		if !hubFields[k] {
			return nil, fmt.Errorf("%w: %q is not a field of timm's config.json (%s); a family's own config names no architecture",
				ErrConfig, k, strings.Join(hubFieldNames(), ", "))
		}
	}
	var h HubConfig
	if err := json.Unmarshal(data, &h); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%w: %s: want %s, got a JSON %s", ErrConfig, te.Field, goKind(te.Type), te.Value)
		}
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	if err := h.check(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrConfig, err)
	}
	return &h, nil
}

// hubFields are the top-level fields of timm's hub config.json (what
// push_to_hub writes), all read by HubConfig.
var hubFields = map[string]bool{"architecture": true, "num_classes": true, "num_features": true, "global_pool": true,
	"model_args": true, "pretrained_cfg": true, "label_names": true, "label_descriptions": true}

func hubFieldNames() []string {
	out := make([]string, 0, len(hubFields))
	for k := range hubFields {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// check validates the fields that decoding cannot: ranges, list lengths,
// and model_args by the kind timm gives each key.
func (h *HubConfig) check() error {
	if h.NumClasses != nil && (*h.NumClasses < 0 || *h.NumClasses > 1<<20) {
		return fmt.Errorf("num_classes %d outside 0..%d", *h.NumClasses, 1<<20)
	}
	if h.NumFeatures != nil && (*h.NumFeatures < 1 || *h.NumFeatures > 1<<16) {
		return fmt.Errorf("num_features %d outside 1..%d", *h.NumFeatures, 1<<16)
	}
	p := h.Pretrained
	if p.InputSize != nil {
		if len(p.InputSize) != 3 {
			return fmt.Errorf("pretrained_cfg.input_size %v: want [channels, height, width]", p.InputSize)
		}
		for _, v := range p.InputSize {
			if v < 1 || v > 1<<20 {
				return fmt.Errorf("pretrained_cfg.input_size %v: each value must be in 1..%d", p.InputSize, 1<<20)
			}
		}
	}
	if (p.Mean == nil) != (p.Std == nil) || len(p.Mean) != len(p.Std) {
		return fmt.Errorf("pretrained_cfg mean %v and std %v: want one of each per channel", p.Mean, p.Std)
	}
	for i := range p.Std {
		if !finite(p.Mean[i]) || !(p.Std[i] > 0) || !finite(p.Std[i]) {
			// A zero std divides every pixel by zero.
			return fmt.Errorf("pretrained_cfg mean %v and std %v: want finite means and positive finite stds", p.Mean, p.Std)
		}
	}
	if len(h.LabelNames) > 0 && string(h.LabelNames) != "null" {
		var list []string
		var byIndex map[string]string
		if json.Unmarshal(h.LabelNames, &list) != nil && json.Unmarshal(h.LabelNames, &byIndex) != nil {
			return fmt.Errorf("label_names: want a list of names or an object from class index to name")
		}
		for k := range byIndex {
			if i, err := strconv.Atoi(k); err != nil || i < 0 {
				return fmt.Errorf("label_names: key %q is not a class index", k)
			}
		}
	}
	keys := make([]string, 0, len(h.ModelArgs))
	for k := range h.ModelArgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if kind, ok := modelArgKinds[k]; ok {
			if err := kind(h.ModelArgs[k]); err != nil {
				return fmt.Errorf("model_args.%s: %v", k, err)
			}
		}
	}
	return nil
}

// argKind checks one model_args value as it comes out of JSON.
type argKind func(v any) error

// modelArgKinds are the model_args keys of timm's ViT-class models that
// anyres reads or checks, by kind. A key not listed is one the families
// do not read; the families check the values against the tensors.
var modelArgKinds = map[string]argKind{
	// Whole numbers.
	"num_heads":               intOrInts(1, 1<<12),
	"attn_pool_num_heads":     wholeIn(1, 1<<12),
	"depth":                   wholeIn(0, 1<<12),
	"embed_dim":               intOrInts(1, 1<<16),
	"in_chans":                wholeIn(1, 64),
	"num_classes":             wholeIn(0, 1<<20),
	"reg_tokens":              wholeIn(0, 1<<10),
	"depths":                  intOrInts(0, 1<<12),
	"sr_ratios":               intOrInts(1, 1<<10),
	"pretrained_window_sizes": intOrInts(0, 1<<20),
	// Sizes: a whole number or [h, w].
	"img_size":       size(false),
	"patch_size":     size(false),
	"window_size":    size(false),
	"ref_feat_shape": size(true),
	// Switches.
	"dynamic_img_pad": boolean, "dynamic_img_size": boolean, "class_token": boolean, "no_embed_class": boolean,
	"qkv_bias": boolean, "use_rot_pos_emb": boolean, "use_abs_pos_emb": boolean, "use_post_norm": boolean,
	"scale_attn_inner": boolean, "rope_rotate_half": boolean, "qk_norm": boolean, "gated_attn": boolean,
	"pos_embed_ar_preserving": boolean, "patchify_channels_last": boolean, "swiglu_mlp": boolean,
	"scale_mlp": boolean, "pre_norm": boolean,
	// Numbers. A RoPE temperature below 1 makes frequencies above 1 that
	// grow as its inverse (1e-300 gives infinities, then NaN outputs).
	"rope_temperature": floatIn(1, math.MaxFloat64),
	"rope_grid_offset": floatIn(-1<<20, 1<<20),
	"mlp_ratio":        floatIn(math.SmallestNonzeroFloat64, 1<<10),
	// Names.
	"rope_grid_indexing":    oneOf("ij", "xy"),
	"global_pool":           str,
	"act_layer":             str,
	"rope_type":             str,
	"pos_embed_interp_mode": str,
}

func wholeIn(lo, hi float64) argKind {
	return func(v any) error {
		f, ok := v.(float64)
		switch {
		case !ok:
			return fmt.Errorf("want a whole number, got %s", jsonKind(v))
		case f != math.Trunc(f):
			return fmt.Errorf("%v is not a whole number", f)
		case f < lo || f > hi:
			return fmt.Errorf("%v outside %v..%v", f, lo, hi)
		}
		return nil
	}
}

// intOrInts: a whole number, or a list of them (one per stage).
func intOrInts(lo, hi float64) argKind {
	one := wholeIn(lo, hi)
	return func(v any) error {
		list, ok := v.([]any)
		if !ok {
			return one(v)
		}
		if len(list) == 0 || len(list) > 64 {
			return fmt.Errorf("a list of %d values", len(list))
		}
		for i, x := range list {
			if err := one(x); err != nil {
				return fmt.Errorf("[%d]: %v", i, err)
			}
		}
		return nil
	}
}

func size(nullable bool) argKind {
	return func(v any) error {
		if v == nil && nullable {
			return nil
		}
		if _, ok := SizePair(v); !ok {
			return fmt.Errorf("%s: want a whole number or [height, width], each in 1..%d", compact(v), 1<<20)
		}
		return nil
	}
}

func boolean(v any) error {
	if _, ok := v.(bool); !ok {
		return fmt.Errorf("want true or false, got %s", jsonKind(v))
	}
	return nil
}

func str(v any) error {
	if _, ok := v.(string); !ok {
		return fmt.Errorf("want a name, got %s", jsonKind(v))
	}
	return nil
}

func floatIn(lo, hi float64) argKind {
	return func(v any) error {
		f, ok := v.(float64)
		if !ok {
			return fmt.Errorf("want a number, got %s", jsonKind(v))
		}
		if !(f >= lo && f <= hi) {
			return fmt.Errorf("%v outside %v..%v", f, lo, hi)
		}
		return nil
	}
}

func oneOf(names ...string) argKind {
	return func(v any) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("want one of %q, got %s", names, jsonKind(v))
		}
		for _, n := range names {
			if s == n {
				return nil
			}
		}
		return fmt.Errorf("%q: want one of %q", s, names)
	}
}

// Int returns model_args[key] as a whole number when present; an error
// when it is there but not a whole number (a list, say, where the family
// wants one value).
func (h *HubConfig) Int(key string) (int, bool, error) {
	if h == nil {
		return 0, false, nil
	}
	v, ok := h.ModelArgs[key]
	if !ok {
		return 0, false, nil
	}
	f, isNum := v.(float64)
	if !isNum || f != math.Trunc(f) || math.Abs(f) > 1<<30 {
		return 0, false, fmt.Errorf("%w: model_args.%s: want a whole number, got %s", ErrConfig, key, jsonKind(v))
	}
	return int(f), true, nil
}

// Ints returns model_args[key] as n whole numbers (one per stage) when
// present; a single number stands for all n. An error names a list of
// another length or anything else.
func (h *HubConfig) Ints(key string, n int) ([]int, bool, error) {
	if h == nil {
		return nil, false, nil
	}
	v, ok := h.ModelArgs[key]
	if !ok {
		return nil, false, nil
	}
	if f, isNum := v.(float64); isNum && f == math.Trunc(f) && math.Abs(f) <= 1<<30 {
		out := make([]int, n)
		for i := range out {
			out[i] = int(f)
		}
		return out, true, nil
	}
	list, isList := v.([]any)
	if !isList || len(list) != n {
		return nil, false, fmt.Errorf("%w: model_args.%s %s: want %d whole numbers, one per stage", ErrConfig, key, compact(v), n)
	}
	out := make([]int, n)
	for i, x := range list {
		f, isNum := x.(float64)
		if !isNum || f != math.Trunc(f) || math.Abs(f) > 1<<30 {
			return nil, false, fmt.Errorf("%w: model_args.%s %s: want %d whole numbers, one per stage", ErrConfig, key, compact(v), n)
		}
		out[i] = int(f)
	}
	return out, true, nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// jsonKind names a decoded JSON value's kind for an error, with the value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean " + compact(v)
	case float64:
		return "the number " + compact(v)
	case string:
		return "the string " + compact(v)
	case []any:
		return "a list " + compact(v)
	}
	return "an object"
}

// compact is v as short JSON.
func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

// goKind names what a Go field of type t takes, in JSON's words.
func goKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}
