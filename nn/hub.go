package nn

import (
	"encoding/json"
	"math"
	"strconv"
)

// HubConfig is the config.json that timm writes beside a checkpoint on
// the Hugging Face hub: an architecture name and the pretrained
// configuration (not the architecture's facts: those come from the name
// and the tensor shapes).
type HubConfig struct {
	Architecture string            `json:"architecture"`
	NumClasses   *int              `json:"num_classes"`
	NumFeatures  *int              `json:"num_features"`
	GlobalPool   *string           `json:"global_pool"`
	ModelArgs    map[string]any    `json:"model_args"`
	LabelNames   json.RawMessage   `json:"label_names"`        // a list, or an object from class index to name
	LabelDescs   map[string]string `json:"label_descriptions"` // name → description (e.g. synset → "tench, Tinca tinca")
	// Transformers is set when config.json is transformers' (model_type,
	// architectures) rather than timm's; Architecture is then its class.
	Transformers *Transformers `json:"-"`
	Pretrained   struct {
		InputSize []int     `json:"input_size"`
		Mean      []float64 `json:"mean"`
		Std       []float64 `json:"std"`
	} `json:"pretrained_cfg"`
}

// ParseHub reads a timm hub config.json; ok is false when the JSON is not
// one (it names no architecture) or is not valid (ReadHub says why: use it
// wherever a bad config must not pass for no config).
func ParseHub(data []byte) (hub *HubConfig, ok bool) {
	h, err := ReadHub(data)
	return h, err == nil && h != nil
}

// Arg returns model_args[key] as a number, if present.
func (h *HubConfig) Arg(key string) (float64, bool) {
	if h == nil {
		return 0, false
	}
	v, ok := h.ModelArgs[key].(float64)
	return v, ok
}

// Labels returns the class names of a hub config (descriptions where it
// has them, as they read better than ImageNet synset ids), n of them, or
// nil when it has none.
func (h *HubConfig) Labels(n int) []string {
	if h == nil || len(h.LabelNames) == 0 || n <= 0 {
		return nil
	}
	out := make([]string, n)
	var list []string
	var byIndex map[string]string
	if json.Unmarshal(h.LabelNames, &list) == nil {
		copy(out, list)
	} else if json.Unmarshal(h.LabelNames, &byIndex) == nil {
		for k, v := range byIndex {
			if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < n {
				out[i] = v
			}
		}
	} else {
		return nil
	}
	for i, name := range out {
		if d, ok := h.LabelDescs[name]; ok && d != "" {
			out[i] = d
		}
	}
	return out
}

// HasArg reports whether model_args holds key (false for a nil config).
func (h *HubConfig) HasArg(key string) bool {
	if h == nil {
		return false
	}
	_, ok := h.ModelArgs[key]
	return ok
}

// SizePair reads timm's size forms, an int or a two-int list (img_size,
// patch_size, window_size, ...), as it comes out of JSON: ok only for
// whole numbers in 1..2^20, so no later product can overflow.
func SizePair(v any) ([2]int, bool) {
	whole := func(f float64) bool { return f >= 1 && f <= 1<<20 && f == math.Trunc(f) }
	switch x := v.(type) {
	case float64:
		return [2]int{int(x), int(x)}, whole(x)
	case []any:
		if len(x) == 2 {
			a, ok1 := x[0].(float64)
			b, ok2 := x[1].(float64)
			if ok1 && ok2 && whole(a) && whole(b) {
				return [2]int{int(a), int(b)}, true
			}
		}
	}
	return [2]int{}, false
}

// TrainSizes lists the training image sizes (H, W) the config states, most
// specific first: model_args img_size, then pretrained_cfg input_size. A
// family checks them against its stored tables; nil config, none.
func (h *HubConfig) TrainSizes() [][2]int {
	if h == nil {
		return nil
	}
	var sizes [][2]int
	if s, ok := SizePair(h.ModelArgs["img_size"]); ok {
		sizes = append(sizes, s)
	}
	if in := h.Pretrained.InputSize; len(in) == 3 {
		if s, ok := SizePair([]any{float64(in[1]), float64(in[2])}); ok {
			sizes = append(sizes, s)
		}
	}
	return sizes
}
