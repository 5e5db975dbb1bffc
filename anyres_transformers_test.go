package anyres_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
	"github.com/anyres/anyres/nn"
	"github.com/anyres/anyres/posenc"
)

// hfOutputs are the transformers outputs of reference cases that anyres
// does not return: DeiT's two heads' logits before they are averaged.
var hfNotReturned = []string{"cls_logits", "distillation_logits"}

// hfField returns the Output field that holds transformers output kind,
// by the model's own account (Info.Transformers).
func hfField(info *nn.TransformersInfo, out *anyres.Output, kind string) ([]float32, bool) {
	switch {
	case kind == info.Tokens:
		return out.Tokens, true
	case slices.Contains(info.Pooled, kind):
		return out.Pooled, true
	case kind == info.Logits && kind != "":
		return out.Logits, true
	}
	return nil, false
}

// checkHF runs every case of a folder's reference through m: each output
// transformers gave within 1e-4; it returns the largest difference.
func checkHF(t *testing.T, f *golden.File, m anyres.Model) float64 {
	t.Helper()
	info := m.Info().Transformers
	if info == nil {
		t.Fatal("Info().Transformers is nil for a transformers checkpoint")
	}
	worst := 0.0
	for _, c := range f.Cases {
		x, shape := f.F32(t, c.Inputs[0])
		var out anyres.Output
		if err := m.Forward(anyres.Image{C: shape[1], H: shape[2], W: shape[3], Pix: x}, &out); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		compared := 0
		for _, o := range c.Outputs {
			kind := golden.HFKind(c, o)
			got, ok := hfField(info, &out, kind)
			if !ok && kind == "pooler_output" && info.Class == "Dinov2ForImageClassification" {
				// The backbone's pooler output is the normed class token,
				// row 0 of last_hidden_state.
				got, ok = out.Tokens[:m.Info().Width], true
			}
			if !ok {
				if !slices.Contains(hfNotReturned, kind) {
					t.Errorf("%s: the model returns no %s (Info.Transformers %+v)", c.Name, kind, *info)
				}
				continue
			}
			want, _ := f.F32(t, o)
			golden.Close(t, c.Name+" "+kind, got, want, 1e-4, 0)
			worst = max(worst, maxDiff(got, want))
			compared++
		}
		if compared == 0 {
			t.Errorf("%s: no output compared", c.Name)
		}
	}
	return worst
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return 1e30
	}
	d := 0.0
	for i := range a {
		d = max(d, float64(abs32(a[i]-b[i])))
	}
	return d
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

var pending = map[string]bool{}

// TestTransformers loads every transformers checkpoint of testdata/golden/hf
// through the front door (the folder alone: config.json says the class)
// and compares every output of every case with transformers', at every
// kernel level. The folders made by transformers 4.44 need the older
// interpolation, an option.
func TestTransformers(t *testing.T) {
	for _, dir := range golden.HFFolders(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			if pending[filepath.Base(dir)] {
				t.Skip("not yet")
			}
			f := golden.OpenHF(t, dir)
			var opts anyres.Options
			if golden.HFHasTable(t, dir) {
				r := hfResample(t, f)
				opts.Resample = &r
			}
			perLevel(t, func(t *testing.T) {
				m, err := anyres.Load(dir, opts)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				if info, class := m.Info(), f.Metadata()["class"]; info.Transformers.Class != class {
					t.Errorf("class %q, want %q", info.Transformers.Class, class)
				}
				checkHF(t, f, m)
			})
		})
	}
}

// hfResample is the rule of the transformers that made f.
func hfResample(t *testing.T, f *golden.File) posenc.ResampleOptions {
	if f.HFBefore445(t) {
		return posenc.TransformersResampleV444()
	}
	return posenc.TransformersResample()
}

// TestTransformersInterpolation: the two interpolation rules differ on the
// references (so the option matters and the test above can fail): a 4.44
// folder run with 4.45's default rule, and a 4.45 one with 4.44's, are
// off by far more than the tolerance.
func TestTransformersInterpolation(t *testing.T) {
	for _, name := range []string{"vit_v444", "dinov2"} {
		dir := filepath.Join(golden.HFDir(t), name)
		f := golden.OpenHF(t, dir)
		other := posenc.TransformersResample()
		if hfResample(t, f) == other {
			other = posenc.TransformersResampleV444()
		}
		m, err := anyres.Load(dir, anyres.Options{Resample: &other})
		if err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		info := m.Info().Transformers
		for _, c := range f.Cases {
			x, shape := f.F32(t, c.Inputs[0])
			var out anyres.Output
			if err := m.Forward(anyres.Image{C: shape[1], H: shape[2], W: shape[3], Pix: x}, &out); err != nil {
				t.Fatal(err)
			}
			got, _ := hfField(info, &out, "last_hidden_state")
			want, _ := f.F32(t, "last_hidden_state_"+c.Name)
			worst = max(worst, maxDiff(got, want))
		}
		m.Close()
		if worst < 0.1 {
			t.Errorf("%s under %v: largest difference %g; the other rule should move outputs by > 0.1", name, other, worst)
		}
	}
}

// TestTransformersErrors: a config that says one class and tensors of
// another, a model_type anyres does not run, and bad fields are errors
// that name the field.
func TestTransformersErrors(t *testing.T) {
	hf := golden.HFDir(t)
	// A width the vit folder's head count does not divide (its own
	// config's numbers, whatever they are).
	var vit struct {
		Width int `json:"hidden_size"`
		Heads int `json:"num_attention_heads"`
	}
	raw, err := os.ReadFile(filepath.Join(hf, "vit", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &vit); err != nil || vit.Width <= 0 || vit.Heads <= 0 {
		t.Fatalf("vit/config.json: hidden_size %d, num_attention_heads %d (%v)", vit.Width, vit.Heads, err)
	}
	heads := max(vit.Heads, 2)
	badWidth := vit.Width + 1
	for badWidth%heads == 0 {
		badWidth++
	}
	cases := []struct {
		name, from string
		edit       func(cfg map[string]any)
		want       string
		is         error
	}{
		{"class vs tensors", "vit", func(c map[string]any) { c["architectures"] = []any{"ViTForImageClassification"} }, "architectures", anyres.ErrConfig},
		{"classifier config, bare tensors", "vit_cls", func(c map[string]any) { c["architectures"] = []any{"ViTModel"} }, "architectures", anyres.ErrConfig},
		{"unknown model_type", "vit", func(c map[string]any) { c["model_type"] = "mobilevit"; c["architectures"] = []any{"MobileViTModel"} }, "model_type", anyres.ErrUnknownModel},
		{"model_type vs class", "vit", func(c map[string]any) { c["model_type"] = "dinov2" }, "model_type", anyres.ErrConfig},
		{"bad eps", "vit", func(c map[string]any) { c["layer_norm_eps"] = -1 }, "layer_norm_eps", anyres.ErrConfig},
		{"bad act", "vit", func(c map[string]any) { c["hidden_act"] = "relu" }, "hidden_act", anyres.ErrConfig},
		{"bad width", "vit", func(c map[string]any) { c["hidden_size"], c["num_attention_heads"] = badWidth, heads },
			fmt.Sprintf("hidden_size %d", badWidth), anyres.ErrConfig},
		{"bad image size", "dinov2", func(c map[string]any) { c["image_size"] = "big" }, "image_size", anyres.ErrConfig},
		{"labels vs classifier", "vit_cls", func(c map[string]any) { c["id2label"] = map[string]any{"0": "a"} }, "id2label", anyres.ErrConfig},
		{"nested vision_config", "clip_full", func(c map[string]any) { c["vision_config"].(map[string]any)["patch_size"] = 0 }, "vision_config.patch_size", anyres.ErrConfig},
		{"text tower in a vision model", "clip_full", func(c map[string]any) {
			c["architectures"] = []any{"CLIPVisionModel"}
			c["model_type"] = "clip_vision_model"
			for k, v := range c["vision_config"].(map[string]any) {
				c[k] = v
			}
		}, "text_model.", anyres.ErrWeight},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := golden.CopyHF(t, filepath.Join(hf, tc.from), tc.edit)
			_, err := anyres.Load(dir, anyres.Options{})
			if err == nil || !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error (%v) naming %q", err, tc.is, tc.want)
			}
		})
	}
}

// TestTransformersProperties: models loaded from transformers folders keep
// the properties of every family: packed batches give each image's own
// outputs (Swin v1's shift is decided per image), results do not depend on
// the thread count, and a warm forward allocates nothing.
func TestTransformersProperties(t *testing.T) {
	for _, dir := range golden.HFFolders(t) {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			f := golden.OpenHF(t, dir)
			var imgs []nn.Image
			for _, c := range f.Cases {
				x, shape := f.F32(t, c.Inputs[0])
				imgs = append(imgs, nn.Image{C: shape[1], H: shape[2], W: shape[3], Pix: x})
			}
			load := func(threads int) nn.Net {
				m, err := anyres.Load(dir, anyres.Options{Threads: threads})
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
			m := load(0)
			defer m.Close()
			familytest.Packing(t, m, imgs)
			familytest.Threads(t, load, imgs[len(imgs)-1])
			familytest.NoAllocs(t, m, imgs[len(imgs)-1])
		})
	}
}

// TestTransformersMissingTensor: a tensor missing from a transformers file
// is an error that names it as the file would hold it, whatever name the
// family reads it under.
func TestTransformersMissingTensor(t *testing.T) {
	// Each folder's tensor is the last of its names that ends so (any
	// depth, stage count or bias layout).
	for _, c := range []struct{ from, suffix string }{
		{"vit", ".attention.attention.key.weight"},
		{"clip_full", "vision_model.embeddings.class_embedding"},
		{"siglip_vision", "vision_model.head.attention.in_proj_bias"},
		{"swinv2", ".downsample.norm.bias"},
		{"beit_cls", ".relative_position_bias_table"},
	} {
		dir := golden.CopyHF(t, filepath.Join(golden.HFDir(t), c.from), nil)
		weights := filepath.Join(dir, "model.safetensors")
		f, err := tensorfile.Open(weights)
		if err != nil {
			t.Fatal(err)
		}
		var remove string
		for _, n := range f.Names() {
			if strings.HasSuffix(n, c.suffix) {
				remove = n
			}
		}
		f.Close()
		if remove == "" {
			t.Fatalf("%s: no tensor ends in %s", c.from, c.suffix)
		}
		golden.RemoveTensor(t, weights, remove)
		_, err = anyres.Load(dir, anyres.Options{})
		if !errors.Is(err, anyres.ErrWeight) || !strings.Contains(err.Error(), `"`+remove+`"`) {
			t.Errorf("%s without %s: got %v, want an error naming it", c.from, remove, err)
		}
	}
}

// FuzzTransformersConfig feeds arbitrary config.json bytes beside the
// weights of each transformers reference to the front door, then runs a
// small image through whatever loaded: nothing may panic or hang. The
// seeds are each folder's own config.json and configs at the edges.
func FuzzTransformersConfig(f *testing.F) {
	var weights [][]byte
	for _, dir := range golden.HFFolders(f) {
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
	for i, c := range []string{
		`{"model_type": "vit", "architectures": ["ViTModel"], "hidden_size": 64, "num_attention_heads": 0, "image_size": [1e9, 4]}`,
		`{"model_type": "dinov2", "hidden_size": 64, "num_attention_heads": 4, "mlp_ratio": 1e300, "patch_size": 0}`,
		`{"model_type": "clip", "vision_config": {"hidden_size": 48, "num_attention_heads": 4, "patch_size": [8, -8]}, "projection_dim": 0}`,
		`{"model_type": "siglip", "vision_config": "x"}`,
		`{"model_type": "beit", "hidden_size": 64, "num_attention_heads": 4, "image_size": 1048576, "patch_size": 1, "use_relative_position_bias": true}`,
		`{"model_type": "swin", "embed_dim": 32, "depths": [2, 2, 2, 2, 2, 2, 2, 2, 2], "num_heads": [2], "window_size": 0}`,
		`{"model_type": "swinv2", "embed_dim": 32, "depths": [2, 2], "num_heads": [2, 4], "window_size": 4, "pretrained_window_sizes": [64, 1]}`,
		`{"model_type": "deit", "architectures": ["DeiTForImageClassificationWithTeacher", "ViTModel"]}`,
	} {
		f.Add(uint8(i), []byte(c))
	}
	f.Fuzz(func(t *testing.T, which uint8, config []byte) {
		w := weights[int(which)%len(weights)]
		m, err := anyres.LoadBytes(w, anyres.Options{Config: config, Threads: 2, MaxTokens: 256})
		if err != nil {
			return
		}
		defer m.Close()
		info := m.Info()
		img := anyres.Image{C: info.Channels, H: 40, W: 56, Pix: make([]float32, info.Channels*40*56)}
		var out anyres.Output
		if err := m.Forward(img, &out); err != nil {
			return
		}
		if len(out.Tokens) != (out.Prefix+out.Grid.N())*info.Width {
			t.Fatalf("%d token values for %d+%d tokens of %d", len(out.Tokens), out.Prefix, out.Grid.N(), info.Width)
		}
	})
}

// TestTransformersSwinSmall: where transformers' Swin v1 raises (a stage
// smaller than its window), anyres pads the stage to one window, unshifted;
// both Swins run images smaller than a window and of odd patch counts.
func TestTransformersSwinSmall(t *testing.T) {
	for _, name := range []string{"swin", "swinv2"} {
		m, err := anyres.Load(filepath.Join(golden.HFDir(t), name), anyres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range [][2]int{{8, 8}, {12, 20}, {30, 10}, {4, 4}} {
			pix := make([]float32, 3*s[0]*s[1])
			for i := range pix {
				pix[i] = float32(i%7) - 3
			}
			var out anyres.Output
			if err := m.Forward(anyres.Image{C: 3, H: s[0], W: s[1], Pix: pix}, &out); err != nil {
				t.Fatalf("%s %v: %v", name, s, err)
			}
			if g := m.Grid(s[0], s[1]); out.Grid != g || len(out.Tokens) != g.N()*m.Info().Width {
				t.Errorf("%s %v: grid %v, %d values; Grid says %v", name, s, out.Grid, len(out.Tokens), g)
			}
			for _, v := range out.Tokens {
				if v != v {
					t.Fatalf("%s %v: NaN", name, s)
				}
			}
		}
		m.Close()
	}
}

// TestTransformersCLIPWithProjection: CLIPVisionModelWithProjection is
// CLIPModel's vision side alone (vision_model.* and visual_projection,
// its config the vision_config with projection_dim): made from clip_full,
// it gives clip_full's image_embeds.
func TestTransformersCLIPWithProjection(t *testing.T) {
	src := filepath.Join(golden.HFDir(t), "clip_full")
	dir := golden.CopyHF(t, src, func(c map[string]any) {
		v := c["vision_config"].(map[string]any)
		v["projection_dim"] = c["projection_dim"]
		for k := range c {
			delete(c, k)
		}
		for k, x := range v {
			c[k] = x
		}
		c["architectures"] = []any{"CLIPVisionModelWithProjection"}
	})
	weights := filepath.Join(dir, "model.safetensors")
	golden.EditTensors(t, weights, func(tensors map[string]tensorout.Tensor) {
		for n := range tensors {
			if !strings.HasPrefix(n, "vision_model.") && n != "visual_projection.weight" {
				delete(tensors, n)
			}
		}
	})
	m, err := anyres.Load(dir, anyres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	info := m.Info().Transformers
	if info.Class != "CLIPVisionModelWithProjection" || info.Logits != "image_embeds" || info.Skipped != "" {
		t.Fatalf("%+v", *info)
	}
	checkHF(t, golden.OpenHF(t, src), m)
}
