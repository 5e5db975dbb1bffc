package nn

import (
	"errors"
	"testing"
)

// FuzzReadHub: any bytes as a config.json read strictly: no panic, every
// refusal an ErrConfig, and an accepted config's typed readers hold.
func FuzzReadHub(f *testing.F) {
	for _, s := range []string{
		`{"architecture": "vit_tiny_patch16_224", "num_classes": 10, "num_features": 192, "global_pool": "token", "model_args": {"num_heads": 3, "img_size": [224, 224]}, "pretrained_cfg": {"input_size": [3, 224, 224], "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5]}}`,
		`{"architecture": "twins_pcpvt_small", "model_args": {"num_heads": [1, 2, 5, 8], "depths": [3, 4, 6, 3]}}`,
		`{"architecture": "x", "num_features": "192"}`, `{"architecture": "x", "model_args": {"num_heads": 2.9}}`,
		`{"architecture": "x", "model_args": {"rope_temperature": 1e-300, "ref_feat_shape": null}}`,
		`null`, `[1]`, `"s"`, `{"depth": 2}`, `{"architecture": 7}`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := ReadHub(data)
		if err != nil {
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("refusal %v is not an ErrConfig", err)
			}
			if h != nil {
				t.Fatal("a hub config with an error")
			}
			return
		}
		if h == nil {
			return
		}
		if h.Architecture == "" {
			t.Fatal("accepted a config without an architecture")
		}
		for k := range h.ModelArgs {
			h.Int(k)
			h.Ints(k, 4)
		}
		h.Labels(3)
		h.TrainSizes()
	})
}
