package golden

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anyres/anyres/internal/tensorout"
)

// HFDir is testdata/golden/hf (a copy of shared/golden/hf): tiny checkpoints in Hugging Face transformers'
// own layout (config.json, model.safetensors, preprocessor_config.json)
// with the outputs transformers computes from them (reference.safetensors;
// see testdata/golden/hf/README.md).
func HFDir(tb testing.TB) string {
	return filepath.Join(Dir(tb), "hf")
}

// HFFolders lists the folders of testdata/golden/hf, sorted.
func HFFolders(tb testing.TB) []string {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(HFDir(tb), "*", "config.json"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("no transformers checkpoints under %s (%v)", HFDir(tb), err)
	}
	var out []string
	for _, p := range paths {
		out = append(out, filepath.Dir(p))
	}
	slices.Sort(out)
	return out
}

// OpenHF reads a folder's reference.safetensors.
func OpenHF(tb testing.TB, dir string) *File {
	tb.Helper()
	rel, err := filepath.Rel(Dir(tb), filepath.Join(dir, "reference.safetensors"))
	if err != nil {
		tb.Fatal(err)
	}
	return Open(tb, rel)
}

// HFBefore445 reports whether a transformers older than 4.45 made f's
// outputs (its generator's version): those resized position tables by a
// scale factor with the 0.1 offset (posenc.TransformersResampleV444).
func (f *File) HFBefore445(tb testing.TB) bool {
	var gen struct {
		Transformers string `json:"transformers"`
	}
	f.MetaJSON(tb, "generator", &gen)
	if gen.Transformers == "" {
		tb.Fatal("reference: generator names no transformers version")
	}
	if strings.HasPrefix(gen.Transformers, "4.44.") || strings.HasPrefix(gen.Transformers, "4.43.") {
		return true
	}
	return false
}

// HFKind is the transformers output an output tensor of case c holds:
// its name less the case suffix ("last_hidden_state_48x40" →
// "last_hidden_state").
func HFKind(c Case, output string) string {
	return strings.TrimSuffix(output, "_"+c.Name)
}

// CopyHF copies a transformers folder (config.json, model.safetensors,
// preprocessor_config.json: small files) into a temporary folder, with its
// config.json rewritten by edit (nil: as it is), and returns the copy's
// path.
func CopyHF(tb testing.TB, dir string, edit func(cfg map[string]any)) string {
	tb.Helper()
	out := tb.TempDir()
	for _, name := range []string{"model.safetensors", "preprocessor_config.json"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, name), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if edit != nil {
		var cfg map[string]any
		if err := json.Unmarshal(raw, &cfg); err != nil {
			tb.Fatal(err)
		}
		edit(cfg)
		if raw, err = json.Marshal(cfg); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(out, "config.json"), raw, 0o644); err != nil {
		tb.Fatal(err)
	}
	return out
}

// EditTensors rewrites a safetensors file (float32 tensors) by edit.
func EditTensors(tb testing.TB, path string, edit func(map[string]tensorout.Tensor)) {
	tb.Helper()
	rewrite(tb, path, edit)
}

// HFHasTable reports whether the transformers checkpoint in dir has a
// learned position table to resample (by config.json): Swin and Swin V2
// have none, nor BEiT without use_absolute_position_embeddings. Options
// that resample a table are refused for the others, so tests give them
// only where one exists.
func HFHasTable(tb testing.TB, dir string) bool {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var c struct {
		ModelType string `json:"model_type"`
		AbsPos    bool   `json:"use_absolute_position_embeddings"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		tb.Fatalf("%s/config.json: %v", dir, err)
	}
	switch c.ModelType {
	case "swin", "swinv2":
		return false
	case "beit":
		return c.AbsPos
	}
	return true
}
