package anyres_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
)

// FuzzConfig feeds arbitrary config.json bytes beside real weights to the
// front door (family choice, config inference, tensor accounting), then
// runs a small image through whatever loaded: nothing may panic or hang.
// The seeds are the reference files' own hub configs, their weights each.
func FuzzConfig(f *testing.F) {
	type pair struct{ weights, config []byte }
	var seeds []pair
	for _, name := range familyGoldens {
		g := golden.Open(f, name)
		dir := golden.WriteHubFolder(f, g, f.TempDir())
		w, err := os.ReadFile(filepath.Join(dir, "model.safetensors"))
		if err != nil {
			f.Fatal(err)
		}
		c, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, pair{w, c})
		f.Add(uint8(len(seeds)-1), c)
		f.Add(uint8(len(seeds)-1), []byte(`{"architecture": "vit_base_patch16_224", "model_args": {"num_heads": 0, "img_size": [-4, 1e9]}}`))
		f.Add(uint8(len(seeds)-1), []byte(`{"architecture": "deit3_huge_patch14_224", "global_pool": "map", "pretrained_cfg": {"input_size": [3, 0, 0]}}`))
	}
	f.Fuzz(func(t *testing.T, which uint8, config []byte) {
		s := seeds[int(which)%len(seeds)]
		m, err := anyres.LoadBytes(s.weights, anyres.Options{Config: config, Threads: 2, MaxTokens: 256})
		if err != nil {
			return
		}
		defer m.Close()
		info := m.Info()
		p := info.Patch
		img := anyres.Image{C: info.Channels, H: 2 * p[0], W: 3 * p[1], Pix: make([]float32, info.Channels*6*p[0]*p[1])}
		var out anyres.Output
		if err := m.Forward(img, &out); err != nil {
			return
		}
		if len(out.Tokens) != (out.Prefix+out.Grid.N())*info.Width {
			t.Fatalf("%d token values for %d+%d tokens of %d", len(out.Tokens), out.Prefix, out.Grid.N(), info.Width)
		}
	})
}
