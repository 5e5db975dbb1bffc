package anyres

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/nn"
)

// TestModelInput: Info.Input's normalisation comes from a folder's
// preprocessor_config.json, else config.json's mean and std, else the
// architecture's default; the budget rule from the family.
func TestModelInput(t *testing.T) {
	src := filepath.Join("testdata", "hub", "vit_siglip_map")
	raw, err := os.ReadFile(filepath.Join(src, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	want, ok, err := imageprep.NormFromConfig(raw)
	if err != nil || !ok {
		t.Fatalf("%s names no mean and std (%v): the test needs one that does", src, err)
	}
	m, err := Load(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if in := m.Info().Input; in.Norm != want || in.NormFrom != "config.json" || in.Processor != nil {
		t.Errorf("config.json's norm: got %+v, want %v from config.json", in, want)
	}
	m.Close()

	// Without mean and std: the architecture's default (SigLIP: 0.5).
	dir := t.TempDir()
	if pc, ok := cfg["pretrained_cfg"].(map[string]any); ok {
		delete(pc, "mean")
		delete(pc, "std")
	}
	delete(cfg, "mean")
	delete(cfg, "std")
	stripped, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), stripped, 0o644); err != nil {
		t.Fatal(err)
	}
	// A copy, not a symlink: WebAssembly (wasip1) has none.
	weights, err := os.ReadFile(filepath.Join(src, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "model.safetensors"), weights, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err = Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if in := m.Info().Input; in.Norm != defaultNorm(&nn.HubConfig{Architecture: m.Info().Architecture}) || in.NormFrom != "default" {
		t.Errorf("no mean and std: got %+v, want the default for %s", in, m.Info().Architecture)
	}
	m.Close()

	// A preprocessor_config.json wins, and its Processor is reported.
	proc := `{"image_processor_type": "SiglipImageProcessor", "do_resize": true, "size": {"height": 32, "width": 48},
		"do_rescale": true, "rescale_factor": 0.00392156862745098, "do_normalize": true,
		"image_mean": [0.25, 0.25, 0.25], "image_std": [0.75, 0.75, 0.75]}`
	if err := os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), []byte(proc), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := imageprep.ParseProcessor([]byte(proc))
	if err != nil {
		t.Fatal(err)
	}
	m, err = Load(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if in := m.Info().Input; in.Processor == nil || in.Norm != p.Norm || in.NormFrom != "preprocessor_config.json" {
		t.Errorf("with preprocessor_config.json: got %+v, want its norm %v", in, p.Norm)
	}
	m.Close()

	// A bad preprocessor_config.json is refused, not skipped.
	if err := os.WriteFile(filepath.Join(dir, "preprocessor_config.json"), []byte(`{"image_std": [0, 1, 1]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if m, err := Load(dir, Options{}); err == nil {
		m.Close()
		t.Error("a zero image_std was accepted")
	}

	for _, c := range []struct {
		arch string
		want imageprep.Norm
	}{
		{"vit_base_patch16_clip_224", imageprep.CLIP},
		{"eva02_base_patch14_224", imageprep.CLIP},
		{"vit_base_patch16_siglip_224", imageprep.Inception},
		{"vit_pe_core_small_patch16_384", imageprep.Inception},
		{"vit_small_patch14_dinov2", imageprep.ImageNet},
		{"", imageprep.ImageNet},
	} {
		if got := defaultNorm(&nn.HubConfig{Architecture: c.arch}); got != c.want {
			t.Errorf("default norm of %q: %v, want %v", c.arch, got, c.want)
		}
	}
}

// TestBudgetRuleOfFamily: NaFlex models size a token budget by SigLIP 2's
// rule, the others by imageprep.BudgetSize.
func TestBudgetRuleOfFamily(t *testing.T) {
	for _, c := range []struct {
		dir  string
		want imageprep.BudgetRule
	}{{"naflex_siglip", imageprep.BudgetNaFlex}, {"vit_siglip_map", imageprep.BudgetAspect}} {
		m, err := Load(filepath.Join("testdata", "hub", c.dir), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Info().Input.Budget; got != c.want {
			t.Errorf("%s: budget rule %v, want %v", c.dir, got, c.want)
		}
		if got := m.Info().Prep(imageprep.Options{}).Budget; got != c.want {
			t.Errorf("%s: Info.Prep's budget rule %v, want %v", c.dir, got, c.want)
		}
		m.Close()
	}
}
