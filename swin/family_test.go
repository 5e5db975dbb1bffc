package swin

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/anyres/anyres/internal/familytest"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/nn"
)

// TestInferV2 infers the V2 golden's architecture from its hub config and
// tensors, and checks it against the arguments timm built it with.
func TestInferV2(t *testing.T) {
	f := golden.Open(t, goldenV2)
	c, err := InferConfig(f, goldenHub(t, f))
	if err != nil {
		t.Fatal(err)
	}
	var kw struct {
		EmbedDim   int   `json:"embed_dim"`
		Depths     []int `json:"depths"`
		NumHeads   []int `json:"num_heads"`
		WindowSize int   `json:"window_size"`
		ImgSize    int   `json:"img_size"`
		NumClasses int   `json:"num_classes"`
	}
	f.MetaJSON(t, "timm_kwargs", &kw)
	if !c.V2() || c.EmbedDim != kw.EmbedDim || !slices.Equal(c.Depths, kw.Depths) || !slices.Equal(c.NumHeads, kw.NumHeads) ||
		c.WindowSize != [2]int{kw.WindowSize, kw.WindowSize} || c.ImgSize != [2]int{kw.ImgSize, kw.ImgSize} ||
		c.NumClasses != kw.NumClasses || c.MLPRatio != 4 || c.NormEps != 1e-5 || c.GlobalPool != "avg" || len(c.PretrainedWindowSizes) != 0 {
		t.Errorf("inferred %+v from timm_kwargs %+v", c, kw)
	}
	// Without model_args: the name gives the window and training size.
	hub := goldenHub(t, f)
	hub.ModelArgs = nil
	hub.Architecture = "swinv2_base_window12to16_192to256.ms_in22k_ft_in1k"
	if c, err = InferConfig(f, hub); err != nil {
		t.Fatal(err)
	}
	// Pretrained at window 12 on 192² (patch grid 48): stage windows
	// min(12, 48>>i), as timm's (12, 12, 12, 6) for four stages.
	want := []int{12, 12, 12, 6}[:len(c.Depths)]
	if c.WindowSize != [2]int{16, 16} || c.ImgSize != [2]int{256, 256} || !slices.Equal(c.PretrainedWindowSizes, want) {
		t.Errorf("window %v img %v pretrained %v, want 16, 256, %v", c.WindowSize, c.ImgSize, c.PretrainedWindowSizes, want)
	}
	// No name, no model_args: the window is not in a V2 checkpoint.
	if _, err := InferConfig(f, nil); !errors.Is(err, ErrConfig) {
		t.Errorf("V2 without a config: %v", err)
	}
}

// TestInferV1 infers the v1 golden from its tensors alone (the window from
// the bias table) and from a timm name (spelled from its own config); both
// match its own config.
func TestInferV1(t *testing.T) {
	f := golden.Open(t, goldenV1)
	own := goldenConfig(t, f)
	name := fmt.Sprintf("swin_tiny_patch%d_window%d_%d", own.PatchSize[0], own.WindowSize[0], own.ImgSize[0])
	for _, hub := range []*nn.HubConfig{nil, {Architecture: name}} {
		c, err := InferConfig(f, hub)
		if err != nil {
			t.Fatal(err)
		}
		if c.V2() || c.EmbedDim != own.EmbedDim || !slices.Equal(c.Depths, own.Depths) || !slices.Equal(c.NumHeads, own.NumHeads) ||
			c.WindowSize != own.WindowSize || c.ImgSize != own.ImgSize || c.NumClasses != own.NumClasses || c.PatchSize != own.PatchSize ||
			c.MLPRatio != own.MLPRatio || c.NormEps != own.NormEps || c.GlobalPool != own.GlobalPool {
			t.Errorf("hub %v: inferred %+v, own config %+v", hub, c, own)
		}
	}
}

// TestClaims: timm names of the family, anyres's own config, Swin tensors.
func TestClaims(t *testing.T) {
	v1, v2 := golden.Open(t, goldenV1), golden.Open(t, goldenV2)
	for _, tc := range []struct {
		arch string
		ck   nn.Checkpoint
		want int
	}{
		{"swin_base_patch4_window12_384.ms_in22k_ft_in1k", v1, 2},
		{"swinv2_tiny_window8_256", v2, 2},
		{"swinv2_cr_tiny_ns_224", v2, 0},
		{"vit_base_patch16_224", v1, 0},
		{"", v1, 3}, // family "swin" in its config metadata
		{"", v2, 1}, // timm's facts in its metadata, Swin tensors
	} {
		if got := claims(tc.arch, tc.ck); got != tc.want {
			t.Errorf("claims(%q) = %d, want %d", tc.arch, got, tc.want)
		}
	}
	fam, ok := nn.Pick("swinv2_tiny_window8_256", v2)
	if !ok || fam.Name != "swin" {
		t.Errorf("nn.Pick: %q %v", fam.Name, ok)
	}
}

// TestInfo: the family's description, and its config round trip.
func TestInfo(t *testing.T) {
	for _, name := range goldens {
		_, m := loadGolden(t, name, options{})
		info := m.Info()
		c := m.Config()
		if info.Family != "swin" || info.Width != c.NumFeatures() || info.NumClasses != c.NumClasses || info.Patch != c.PatchSize || info.Channels != c.InChans {
			t.Errorf("%s: info %+v for config %+v", name, info, c)
		}
		back, err := ParseConfig(info.Config)
		if err != nil || back.Version != c.Version || back.WindowSize != c.WindowSize || !slices.Equal(back.Depths, c.Depths) {
			t.Errorf("%s: config JSON %s gives %+v, %v", name, info.Config, back, err)
		}
		if ownConfig(fakeMeta{"config": string(info.Config)}) == nil {
			t.Errorf("%s: Info.Config is not claimed as swin's own config", name)
		}
	}
}

type fakeMeta map[string]string

func (m fakeMeta) Metadata() map[string]string { return m }

// TestOtherWindow runs the V2 golden at other windows (the continuous bias
// exists for any): smaller than its own, not square, normalised by the
// pretrained window, and larger than the grid (shrunk to it at build, as
// timm does).
func TestOtherWindow(t *testing.T) {
	f, m := loadGolden(t, goldenV2, options{})
	base := m.Config()
	img := goldenImage(t, f, f.Cases[0].Name)
	var want Output
	if err := m.Forward(img, &want); err != nil {
		t.Fatal(err)
	}
	for _, win := range [][2]int{{4, 4}, {4, 6}, {64, 64}} {
		if win == base.WindowSize { // the file's own: another one
			win = [2]int{win[0] + 1, win[1] + 1}
		}
		c := base
		c.WindowSize = win
		c.PretrainedWindowSizes = make([]int, len(c.Depths))
		for i := range c.PretrainedWindowSizes {
			w, _ := base.StageWindow(i)
			c.PretrainedWindowSizes[i] = w[0]
		}
		m2, err := newModel(c, f, options{Ignore: golden.NotWeight})
		if err != nil {
			t.Fatal(err)
		}
		var out Output
		if err := m2.Forward(img, &out); err != nil {
			t.Fatal(err)
		}
		if out.Grid != want.Grid || maxDiff(out.Tokens, want.Tokens) == 0 || math.IsNaN(maxDiff(out.Tokens, want.Tokens)) {
			t.Errorf("window %v: grid %s (want %s), tokens differ by %g", win, out.Grid, want.Grid, maxDiff(out.Tokens, want.Tokens))
		}
		// A packed batch of all the golden sizes gives each its own bits.
		imgs := goldenImages(t, f)
		outs := make([]Output, len(imgs))
		if err := m2.ForwardBatch(imgs, outs); err != nil {
			t.Fatal(err)
		}
		single := make([]Output, len(imgs))
		for i, img := range imgs {
			if err := m2.Forward(img, &single[i]); err != nil {
				t.Fatal(err)
			}
			if d := maxDiff(single[i].Tokens, outs[i].Tokens); d != 0 {
				t.Errorf("window %v: image %d differs by %g packed", win, i, d)
			}
		}
		familytest.HeadOnly(t, m2, imgs, single)
	}
}

// TestFLOPs: Swin-T at 224² is timm's 4.5 GMACs (fvcore counts
// multiply-adds), about 9 GFLOPs here with the attention products.
func TestFLOPs(t *testing.T) {
	src, err := RandomWeights(swinTiny, 1)
	if err != nil {
		t.Fatal(err)
	}
	m, err := newModel(swinTiny, src, options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	if f := m.FLOPs(224, 224) / 2e9; f < 4.3 || f > 4.7 {
		t.Errorf("Swin-T at 224²: %.2f GMACs, want about 4.5", f)
	} else {
		t.Logf("Swin-T at 224²: %.2f GMACs", f)
	}
}
