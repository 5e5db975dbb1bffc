package anyres_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/kernels"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// hubFolders writes a hub folder (model.safetensors + config.json) for
// every reference file that has a hub config, keyed by the file's name.
func hubFolders(t *testing.T) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(golden.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".safetensors") {
			continue
		}
		g := golden.Open(t, e.Name())
		if !g.HasHub() {
			continue
		}
		dir := filepath.Join(t.TempDir(), strings.TrimSuffix(e.Name(), ".safetensors"))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = golden.WriteHubFolder(t, g, dir)
	}
	if len(out) == 0 {
		t.Fatal("no reference file with a hub config")
	}
	return out
}

// TestForwardNilOutputIsAnError: a nil *Output is misuse that every
// family reports as ErrNilOutput rather than panicking on.
func TestForwardNilOutputIsAnError(t *testing.T) {
	for name, dir := range hubFolders(t) {
		m, err := anyres.Load(dir, anyres.Options{Threads: 1})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		info := m.Info()
		p := info.Patch
		img := anyres.Image{C: info.Channels, H: 4 * p[0], W: 4 * p[1], Pix: make([]float32, info.Channels*16*p[0]*p[1])}
		if err := m.Forward(img, nil); !errors.Is(err, anyres.ErrNilOutput) {
			t.Errorf("%s (%s): Forward(img, nil) = %v, want ErrNilOutput", name, info.Family, err)
		}
		m.Close()
	}
}

// TestBadKernelLevelIsRefusedByLoad runs this test binary again with an
// unknown ANYRES_KERNELS: the process starts (no panic in package init),
// and Load returns an error naming the setting.
func TestBadKernelLevelIsRefusedByLoad(t *testing.T) {
	if os.Getenv("ANYRES_TEST_CHILD") == "badlevel" {
		_, err := anyres.Load(filepath.Join("testdata", "models", "vit_tiny.safetensors"), anyres.Options{})
		if err == nil {
			t.Fatal("Load succeeded with a bad " + kernels.EnvVar)
		}
		t.Log("LOADERR", err)
		return
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no executable path:", err)
	}
	cmd := exec.Command(exe, "-test.run=^TestBadKernelLevelIsRefusedByLoad$", "-test.v")
	cmd.Env = append(os.Environ(), kernels.EnvVar+"=sse9", "ANYRES_TEST_CHILD=badlevel")
	out, err := cmd.CombinedOutput()
	if err != nil {
		if _, exited := err.(*exec.ExitError); !exited {
			t.Skipf("cannot re-run the test binary here (emulator or sandbox): %v", err)
		}
		t.Fatalf("child failed:\n%s", out)
	}
	if !strings.Contains(string(out), "LOADERR") || !strings.Contains(string(out), kernels.EnvVar+"=sse9") {
		t.Fatalf("Load's error does not name the setting:\n%s", out)
	}
}

// readJSON reads a JSON object file.
func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// withConfig makes a hub folder with dir's weights and config as JSON.
func withConfig(t *testing.T, dir string, config any) string {
	t.Helper()
	out := t.TempDir()
	if err := os.Symlink(filepath.Join(dir, "model.safetensors"), filepath.Join(out, "model.safetensors")); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "model.safetensors"))
		os.WriteFile(filepath.Join(out, "model.safetensors"), b, 0o644)
	}
	b, err := json.Marshal(config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// clone deep-copies a decoded JSON object.
func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var c map[string]any
	json.Unmarshal(b, &c)
	return c
}

// TestConfigsThatLie: every family's hub config.json, altered one field at
// a time in the ways a careless or hostile config is wrong, is refused
// with an error naming config.json and the field, never run with the field
// ignored or read loosely. The alterations derive from each reference
// file's own config and model.
func TestConfigsThatLie(t *testing.T) {
	for name, dir := range hubFolders(t) {
		m, err := anyres.Load(dir, anyres.Options{Threads: 1})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		info := m.Info()
		m.Close()
		base := readJSON(t, filepath.Join(dir, "config.json"))
		args, _ := base["model_args"].(map[string]any)
		type lie struct {
			what, field string
			edit        func(c map[string]any)
		}
		setArg := func(k string, v any) func(c map[string]any) {
			return func(c map[string]any) {
				a, _ := c["model_args"].(map[string]any)
				if a == nil {
					a = map[string]any{}
					c["model_args"] = a
				}
				a[k] = v
			}
		}
		lies := []lie{
			{"num_features as a string", "num_features", func(c map[string]any) { c["num_features"] = strconv.Itoa(info.Width) }},
			{"num_features wrong", "num_features", func(c map[string]any) { c["num_features"] = info.Width + 1 }},
			{"num_classes wrong", "num_classes", func(c map[string]any) { c["num_classes"] = info.NumClasses + 1 }},
			{"architecture not a name", "architecture", func(c map[string]any) { c["architecture"] = 7 }},
			{"num_heads as a string", "model_args.num_heads", setArg("num_heads", "3")},
			{"num_heads a fraction", "model_args.num_heads", setArg("num_heads", 2.9)},
			{"dynamic_img_pad as a string", "model_args.dynamic_img_pad", setArg("dynamic_img_pad", "yes")},
			{"rope_temperature that makes NaN", "model_args.rope_temperature", setArg("rope_temperature", 1e-300)},
			{"img_size of three", "model_args.img_size", setArg("img_size", []int{1, 2, 3})},
			{"in_chans wrong", "in_chans", setArg("in_chans", info.Channels+1)},
			{"model_args not an object", "model_args", func(c map[string]any) { c["model_args"] = []int{1} }},
			{"label_names not names", "label_names", func(c map[string]any) { c["label_names"] = 5 }},
			{"input_size channels wrong", "input_size", func(c map[string]any) {
				p, _ := c["pretrained_cfg"].(map[string]any)
				if p == nil {
					p = map[string]any{}
					c["pretrained_cfg"] = p
				}
				p["input_size"] = []int{info.Channels + 1, 224, 224}
			}},
			{"zero std", "std", func(c map[string]any) {
				p, _ := c["pretrained_cfg"].(map[string]any)
				if p == nil {
					p = map[string]any{}
					c["pretrained_cfg"] = p
				}
				p["mean"], p["std"] = []float64{0.5, 0.5, 0.5}, []float64{0.5, 0, 0.5}
			}},
		}
		if h, ok := args["num_heads"].([]any); ok && len(h) > 1 {
			lies = append(lies, lie{"num_heads one short", "model_args.num_heads", setArg("num_heads", h[:len(h)-1])})
		} else {
			lies = append(lies, lie{"num_heads a list", "model_args.num_heads", setArg("num_heads", []int{1, 1})})
		}
		if info.NumClasses > 0 {
			lies = append(lies, lie{"no pooling with a head", "global_pool", func(c map[string]any) { c["global_pool"] = "" }})
		}
		for _, l := range lies {
			c := clone(base)
			l.edit(c)
			_, err := anyres.Load(withConfig(t, dir, c), anyres.Options{Threads: 1})
			if err == nil || !strings.Contains(err.Error(), "config.json") || !strings.Contains(err.Error(), l.field) {
				t.Errorf("%s (%s), %s: %v, want an error naming config.json and %s", name, info.Family, l.what, err, l.field)
			}
		}
		for _, whole := range []any{nil, []int{1}, "config"} {
			_, err := anyres.Load(withConfig(t, dir, whole), anyres.Options{Threads: 1})
			if err == nil || !strings.Contains(err.Error(), "not a JSON object") {
				t.Errorf("%s: config.json %v: %v", name, whole, err)
			}
		}
	}
}

// TestNameAndTensorsMustAgree: weights labelled with a name whose
// architecture they do not have are refused, not run with the name's
// settings: plain ViT weights as EVA-02 (RoPE they never had) or as CLIP
// (its eps), Swin V1 weights as V2 and V2 as V1.
func TestNameAndTensorsMustAgree(t *testing.T) {
	hubs := hubFolders(t)
	for _, c := range []struct{ file, arch, want string }{
		{"vit_clip_quickgelu.safetensors", "eva02_tiny_patch14_224", "not EVA-02"},
		{"deit_distilled.safetensors", "vit_base_patch16_clip_224", "norm_pre"},
		{"swin_small_window.safetensors", "swinv2_tiny_window8_256", "Swin V1"},
		{"swinv2_cpb.safetensors", "swin_tiny_patch4_window7_224", "Swin V2"},
	} {
		dir, cfg := hubs[c.file], map[string]any{}
		if dir == "" { // a reference file without a hub config: its weights alone
			dir = t.TempDir()
			golden.WriteWeights(t, golden.Open(t, c.file), filepath.Join(dir, "model.safetensors"))
		} else {
			cfg = readJSON(t, filepath.Join(dir, "config.json"))
		}
		cfg["architecture"] = c.arch
		if m, err := anyres.Load(withConfig(t, dir, cfg), anyres.Options{Threads: 1}); err == nil || !strings.Contains(err.Error(), c.want) {
			if m != nil {
				m.Close()
			}
			t.Errorf("%s as %s: %v, want an error saying %q", c.file, c.arch, err, c.want)
		}
	}
}

// TestOptionsActOrAreRefused: a resample method on a model without a
// learned table, and KeepF32 names that keep nothing, are errors.
func TestOptionsActOrAreRefused(t *testing.T) {
	method := posenc.DefaultResampleOptions()
	method.Method = posenc.Fourier
	for name, dir := range hubFolders(t) {
		f := golden.Open(t, name)
		hasTable := false
		for _, n := range f.Names() {
			hasTable = hasTable || n == "pos_embed" || strings.HasSuffix(n, ".pos_embed")
		}
		m, err := anyres.Load(dir, anyres.Options{Threads: 1, Resample: &method})
		switch {
		case hasTable && err != nil:
			t.Errorf("%s: a model with a table refused a method: %v", name, err)
		case !hasTable && (err == nil || !strings.Contains(err.Error(), "position table")):
			t.Errorf("%s: a model without a table took a method: %v", name, err)
		}
		if m != nil {
			m.Close()
		}
	}
	dir := hubFolders(t)["vit_clip_quickgelu.safetensors"]
	for _, o := range []anyres.Options{
		{Threads: -1},
		{DType: "int8", KeepF32: []string{"blocks.1.mlp.fc3"}},
		{DType: "int8", KeepF32: []string{"", "", ""}},
		{DType: "bf16", KeepF32: []string{"blocks."}},
		{DType: "f32", KeepF32: []string{"head"}},
	} {
		if m, err := anyres.Load(dir, o); err == nil {
			m.Close()
			t.Errorf("DType %s KeepF32 %q: loaded", o.DType, o.KeepF32)
		}
	}
	last := 0 // the deepest block: the reference file's depth is its own
	for _, n := range golden.Open(t, "vit_clip_quickgelu.safetensors").Names() {
		var b int
		if _, err := fmt.Sscanf(n, "blocks.%d.mlp.fc2.weight", &b); err == nil {
			last = max(last, b)
		}
	}
	m, err := anyres.Load(dir, anyres.Options{DType: "int8", KeepF32: []string{"blocks.0", fmt.Sprintf("blocks.%d.mlp.fc2", last)}})
	if err != nil {
		t.Fatalf("layers that exist: %v", err)
	}
	if _, err := anyres.WithThreads(m, -1); err == nil {
		t.Error("WithThreads(m, -1) took a negative count")
	}
	m.Close()
}

// TestOwnConfigTakenOrRefused: a family's resolved config given as
// Options.Config, with any one number changed, either loads a model whose
// config holds the changed number or is refused: never inferred from the
// tensors with the number dropped.
func TestOwnConfigTakenOrRefused(t *testing.T) {
	for name, dir := range hubFolders(t) {
		m, err := anyres.Load(dir, anyres.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		var resolved map[string]any
		json.Unmarshal(m.Info().Config, &resolved)
		m.Close()
		for k, v := range resolved {
			x, ok := v.(float64)
			if !ok {
				continue
			}
			c := clone(resolved)
			c[k] = 2*x + 1
			b, _ := json.Marshal(c)
			m, err := anyres.Load(filepath.Join(dir, "model.safetensors"), anyres.Options{Config: b, Threads: 1})
			if err != nil {
				continue
			}
			var got map[string]any
			json.Unmarshal(m.Info().Config, &got)
			m.Close()
			if got[k] != c[k] {
				t.Errorf("%s: %s %v given, the model has %v", name, k, c[k], got[k])
			}
		}
	}
}

// TestModelArgsTakenOrRefused: every model_args value that the model's
// resolved config also holds (timm's kwargs and anyres's configs share
// names), changed, either builds a model that holds the changed value (the
// config decides it: heads, window, RoPE reference grid) or is refused
// (the tensors decide it: widths, depths): never dropped for the tensors'
// value without a word.
func TestModelArgsTakenOrRefused(t *testing.T) {
	checked := 0
	for name, dir := range hubFolders(t) {
		m, err := anyres.Load(dir, anyres.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		var resolved map[string]any
		json.Unmarshal(m.Info().Config, &resolved)
		m.Close()
		base := readJSON(t, filepath.Join(dir, "config.json"))
		args, _ := base["model_args"].(map[string]any)
		for k, v := range args {
			if _, ok := resolved[k]; !ok || k == "img_size" {
				continue
			}
			var changed any
			switch x := v.(type) {
			case float64:
				changed = x + 1
			case []any:
				if len(x) == 0 { // nothing to change in place (an empty tuple of the reference's kwargs)
					continue
				}
				c := append([]any(nil), x...)
				if f, ok := c[0].(float64); ok {
					c[0] = f + 1
				}
				changed = c
			case bool:
				changed = !x
			default:
				continue
			}
			c := clone(base)
			c["model_args"].(map[string]any)[k] = changed
			checked++
			m, err := anyres.Load(withConfig(t, dir, c), anyres.Options{Threads: 1})
			if err != nil {
				continue
			}
			var got map[string]any
			json.Unmarshal(m.Info().Config, &got)
			m.Close()
			b1, _ := json.Marshal(changed)
			b2, _ := json.Marshal(got[k])
			if p1, ok := nn.SizePair(changed); ok { // a size: n is [n, n]
				if p2, ok := nn.SizePair(got[k]); ok && p1 == p2 {
					continue
				}
			}
			if string(b1) != string(b2) {
				t.Errorf("%s: model_args.%s %s loaded a model with %s", name, k, b1, b2)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no model_args value to check")
	}
}
