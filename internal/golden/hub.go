package golden

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
)

// HasHub reports whether the file is a model-family file with a hub_config.
func (f *File) HasHub() bool {
	_, ok := f.Metadata()["hub_config"]
	return ok
}

// WriteHubFolder writes the file's model as timm writes a checkpoint to
// the Hugging Face hub: dir/model.safetensors with the weights alone (no
// metadata) and dir/config.json, the file's hub_config with the model
// arguments the model was built with (timm_kwargs) as model_args, as timm's
// push_to_hub records them. It returns dir.
func WriteHubFolder(tb testing.TB, f *File, dir string) string {
	tb.Helper()
	var hub map[string]any
	f.MetaJSON(tb, "hub_config", &hub)
	var kwargs map[string]any
	if _, ok := f.Metadata()["timm_kwargs"]; ok {
		f.MetaJSON(tb, "timm_kwargs", &kwargs)
		hub["model_args"] = kwargs
	}
	cfg, err := json.MarshalIndent(hub, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o644); err != nil {
		tb.Fatal(err)
	}
	WriteWeights(tb, f, filepath.Join(dir, "model.safetensors"))
	return dir
}

// WriteWeights writes the file's weights alone (no metadata, no reference
// tensors) to path.
func WriteWeights(tb testing.TB, f *File, path string) {
	tb.Helper()
	tensors := map[string]tensorout.Tensor{}
	for _, name := range f.Names() {
		if NotWeight(name) {
			continue
		}
		v, shape := f.F32(tb, name)
		tensors[name] = tensorout.F32(shape, v)
	}
	if err := tensorout.WriteSafetensorsFile(path, tensors, nil); err != nil {
		tb.Fatal(err)
	}
}

// AddTensor rewrites a safetensors file with one more float32 tensor.
func AddTensor(tb testing.TB, path, name string, shape []int, data []float32) {
	tb.Helper()
	rewrite(tb, path, func(t map[string]tensorout.Tensor) { t[name] = tensorout.F32(shape, data) })
}

// RemoveTensor rewrites a safetensors file without one tensor.
func RemoveTensor(tb testing.TB, path, name string) {
	tb.Helper()
	rewrite(tb, path, func(t map[string]tensorout.Tensor) { delete(t, name) })
}

func rewrite(tb testing.TB, path string, edit func(map[string]tensorout.Tensor)) {
	tf, err := tensorfile.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	tensors := map[string]tensorout.Tensor{}
	for _, n := range tf.Names() {
		v, shape, err := tf.Float32(n)
		if err != nil {
			tb.Fatal(err)
		}
		tensors[n] = tensorout.F32(shape, append([]float32(nil), v...))
	}
	tf.Close()
	edit(tensors)
	if err := tensorout.WriteSafetensorsFile(path, tensors, nil); err != nil {
		tb.Fatal(err)
	}
}

// Models lists the files of testdata/golden that hold a model (those with
// a timm_model entry in their metadata), sorted by name.
func Models(tb testing.TB) []string {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(Dir(tb), "*.safetensors"))
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		f, err := tensorfile.Open(p)
		if err != nil {
			tb.Fatal(err)
		}
		if _, ok := f.Metadata()["timm_model"]; ok {
			out = append(out, filepath.Base(p))
		}
		f.Close()
	}
	return out
}
