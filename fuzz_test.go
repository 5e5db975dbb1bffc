package anyres_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/nn"
)

// FuzzConfig feeds arbitrary config.json bytes beside real weights to the
// front door (family choice, config inference, tensor accounting), then
// runs a small image through whatever loaded: nothing may panic or hang.
// The seeds are every reference file's own hub config with its weights,
// and configs that push each family's inference to its edges.
func FuzzConfig(f *testing.F) {
	entries, err := os.ReadDir(golden.Dir(f))
	if err != nil {
		f.Fatal(err)
	}
	var weights [][]byte
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".safetensors") {
			continue
		}
		g := golden.Open(f, e.Name())
		if !g.HasHub() {
			continue
		}
		dir := golden.WriteHubFolder(f, g, f.TempDir())
		w, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
		if err != nil {
			f.Fatal(err)
		}
		c, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil {
			f.Fatal(err)
		}
		weights = append(weights, w)
		f.Add(uint8(len(weights)-1), c)
	}
	if len(weights) == 0 {
		f.Fatal("no reference file with a hub config")
	}
	for i, c := range []string{
		`{"architecture": "vit_base_patch16_224", "model_args": {"num_heads": 0, "img_size": [-4, 1e9]}}`,
		`{"architecture": "deit3_huge_patch14_224", "global_pool": "map", "pretrained_cfg": {"input_size": [3, 0, 0]}}`,
		`{"architecture": "eva02_tiny_patch14_224", "model_args": {"num_heads": 0, "ref_feat_shape": [0, 1e9], "rope_temperature": -1}}`,
		`{"architecture": "vit_base_patch16_rope_224", "model_args": {"num_heads": 4, "rope_grid_indexing": "xy", "img_size": 1e12}}`,
		`{"architecture": "beit_base_patch16_224", "global_pool": "map", "model_args": {"num_heads": 5, "img_size": [16, 1e6]}}`,
		`{"architecture": "vit_small_patch16_rope_mixed_224", "model_args": {"rope_type": "dinov3", "use_rot_pos_emb": false}}`,
		`{"architecture": "naflexvit_base_patch16_par_gap", "model_args": {"num_heads": 0, "patch_size": [4, 0], "act_layer": "relu"}}`,
		`{"architecture": "naflexvit_so400m_patch16_siglip", "model_args": {"num_heads": 48, "pos_embed_interp_mode": "area", "patch_size": 8}}`,
		`{"architecture": "twins_pcpvt_large", "model_args": {"num_heads": [0, 2, "x"]}}`,
		`{"architecture": "twins_svt_small", "model_args": {"wss": [0, 1e9, 7, 7], "sr_ratios": [8, 4, 2]}}`,
		`{"architecture": "hiera_tiny_224", "model_args": {"q_stride": [64, 1], "head_mul": 1e9, "mask_unit_attn": [true]}}`,
		`{"architecture": "swinv2_tiny_window8_256", "model_args": {"window_size": 0, "depths": [1, 1e9]}}`,
		`{"architecture": "eva02_tiny_patch14_224", "model_args": {"rope_temperature": 1e-300, "rope_grid_offset": 1e300}}`,
		`{"architecture": "vit_tiny_patch16_224", "num_features": "192", "model_args": {"num_heads": 2.9, "dynamic_img_pad": "yes"}}`,
		`{"architecture": "vit_tiny_patch16_224", "global_pool": "", "pretrained_cfg": {"mean": [0, 0, 0], "std": [0, 1, 1]}}`,
		`null`, `[]`, `{"architecture": null}`,
	} {
		f.Add(uint8(i), []byte(c))
	}
	f.Fuzz(func(t *testing.T, which uint8, config []byte) {
		w := weights[int(which)%len(weights)]
		_, hubErr := nn.ReadHub(config)
		m, err := anyres.LoadBytes(w, anyres.Options{Config: config, Threads: 2, MaxTokens: 256})
		if err != nil {
			return
		}
		if hubErr != nil {
			m.Close()
			t.Fatalf("a config ReadHub refuses (%v) loaded", hubErr)
		}
		defer m.Close()
		info := m.Info()
		img := anyres.Image{C: info.Channels, H: 64, W: 96, Pix: make([]float32, info.Channels*64*96)}
		var out anyres.Output
		if err := m.Forward(img, &out); err != nil {
			return
		}
		if len(out.Tokens) != (out.Prefix+out.Grid.N())*info.Width {
			t.Fatalf("%d token values for %d+%d tokens of %d", len(out.Tokens), out.Prefix, out.Grid.N(), info.Width)
		}
		// Finite weights and a finite image: a config whose numbers make
		// the outputs non-finite must have been refused.
		for _, v := range [][]float32{out.Tokens, out.Pooled, out.Logits} {
			for i, x := range v {
				if x-x != 0 {
					t.Fatalf("output %d is %v: the config %q loaded a model with non-finite outputs", i, x, config)
				}
			}
		}
	})
}
