package nn

import (
	"errors"
	"strings"
	"testing"
)

// TestReadHubNamesTheField: each way a config.json is wrong is an
// ErrConfig naming the field; a JSON object without an architecture is
// not a hub config (nil, nil); a good one reads.
func TestReadHubNamesTheField(t *testing.T) {
	for cfg, field := range map[string]string{
		`{"architecture": "x", "num_features": "192"}`:                                   "num_features",
		`{"architecture": "x", "num_classes": 2.5}`:                                      "num_classes",
		`{"architecture": "x", "model_args": {"num_heads": "3"}}`:                        "model_args.num_heads",
		`{"architecture": "x", "model_args": {"num_heads": 2.9}}`:                        "model_args.num_heads",
		`{"architecture": "x", "model_args": {"num_heads": [1, 0]}}`:                     "model_args.num_heads",
		`{"architecture": "x", "model_args": {"dynamic_img_pad": "yes"}}`:                "model_args.dynamic_img_pad",
		`{"architecture": "x", "model_args": {"rope_temperature": 1e-300}}`:              "model_args.rope_temperature",
		`{"architecture": "x", "model_args": {"rope_grid_indexing": "yx"}}`:              "model_args.rope_grid_indexing",
		`{"architecture": "x", "model_args": {"img_size": [224, 224, 3]}}`:               "model_args.img_size",
		`{"architecture": "x", "model_args": {"ref_feat_shape": "16"}}`:                  "model_args.ref_feat_shape",
		`{"architecture": "x", "model_args": [1]}`:                                       "model_args",
		`{"architecture": "x", "pretrained_cfg": {"input_size": [224, 224]}}`:            "input_size",
		`{"architecture": "x", "pretrained_cfg": {"mean": [0, 0, 0], "std": [1, 0, 1]}}`: "std",
		`{"architecture": "x", "label_descriptions": {"n0": 3}}`:                         "label_descriptions",
		`{"architecture": 7}`:     "architecture",
		`{"architecture": ""}`:    "architecture",
		`null`:                    "not a JSON object",
		`[{"architecture": "x"}]`: "not a JSON object",
		`{"architecture": "x",`:   "not JSON",
	} {
		h, err := ReadHub([]byte(cfg))
		if err == nil || !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), field) || h != nil {
			t.Errorf("%s: %v, want an ErrConfig naming %s", cfg, err, field)
		}
	}
	if h, err := ReadHub([]byte(`{"depth": 2, "embed_dim": 48}`)); h != nil || err != nil {
		t.Errorf("a family's own config: %v, %v", h, err)
	}
	h, err := ReadHub([]byte(`{"architecture": "twins_pcpvt_small", "num_classes": 10, "model_args": {"num_heads": [1, 2, 5, 8], "ref_feat_shape": null, "rope_temperature": 100}}`))
	if err != nil || h == nil {
		t.Fatalf("a good config: %v", err)
	}
	if v, ok, err := h.Ints("num_heads", 4); err != nil || !ok || v[2] != 5 {
		t.Errorf("Ints(num_heads, 4) = %v %v %v", v, ok, err)
	}
	if _, _, err := h.Ints("num_heads", 3); err == nil {
		t.Error("a 4-entry list read as 3")
	}
	if _, _, err := h.Int("num_heads"); err == nil {
		t.Error("a list read as one number")
	}
}
