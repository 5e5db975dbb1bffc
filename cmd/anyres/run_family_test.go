package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anyres/anyres"
	"github.com/anyres/anyres/imageprep"
	"github.com/anyres/anyres/internal/golden"
	"github.com/anyres/anyres/internal/tensorfile"
	"github.com/anyres/anyres/internal/tensorout"
)

// hubGoldens lists the reference files with a hub config.json: each is a
// checkpoint of one family as timm writes it to the hub.
func hubGoldens(t *testing.T) []string {
	entries, err := os.ReadDir(golden.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".safetensors") {
			continue
		}
		if golden.Open(t, e.Name()).HasHub() {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		t.Fatal("no reference file has a hub config")
	}
	return names
}

// TestRunHubFolderInputOut runs every family's hub checkpoint from its
// folder on its first reference input given as -input x.npy, writes -out
// f.safetensors, and compares the features and logits read back with timm's.
func TestRunHubFolderInputOut(t *testing.T) {
	ran := 0
	for _, name := range hubGoldens(t) {
		f := golden.Open(t, name)
		var c *golden.Case
		for i := range f.Cases {
			var p struct {
				PatchSize int `json:"patch_size"`
			}
			f.Cases[i].Decode(t, &p)
			if len(f.Cases[i].Inputs) == 1 && len(f.Cases[i].Outputs) == 2 && p.PatchSize == 0 || p.PatchSize == 16 {
				c = &f.Cases[i]
				break
			}
		}
		if c == nil {
			continue
		}
		dir := t.TempDir()
		hub := golden.WriteHubFolder(t, f, filepath.Join(dir))
		x, shape := f.F32(t, c.Inputs[0])
		in := filepath.Join(t.TempDir(), "x.npy")
		if err := tensorout.WriteNPYFile(in, shape, x); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "f.safetensors")
		if _, err := runCaptured(t, "-weights", hub, "-input", in, "-out", out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		res, err := tensorfile.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		feats, _, err := res.Float32("features")
		if err != nil {
			t.Fatal(err)
		}
		want, _ := f.F32(t, c.Outputs[0])
		golden.Close(t, name+" features", feats, want, 1e-4, 0)
		logits, _ := f.F32(t, c.Outputs[1])
		key := "logits"
		if !res.Has("logits") {
			key = "pooled" // no classifier: timm's logits are the pooled features
		}
		got, _, err := res.Float32(key)
		if err != nil {
			t.Fatal(err)
		}
		golden.Close(t, name+" "+key, got, logits, 1e-4, 0)
		res.Close()
		ran++
	}
	if ran == 0 {
		t.Error("no reference checkpoint ran")
	}
}

// TestRunHubFolderImage classifies a photo with every family's hub
// checkpoint, its normalisation taken from config.json.
func TestRunHubFolderImage(t *testing.T) {
	photo := writePhoto(t, t.TempDir(), 96, 112) // whole patches of 4, 8, 14 and 16 on one side at least; ≥ 32×32
	for _, name := range hubGoldens(t) {
		f := golden.Open(t, name)
		hub := golden.WriteHubFolder(t, f, t.TempDir())
		got, err := runCaptured(t, "-weights", hub, "-image", photo, "-top", "3", "-edge", "crop")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if n := strings.Count(got, "class"); n != 3 && !strings.Contains(got, "no classifier head") {
			t.Errorf("%s: output:\n%s", name, got)
		}
	}
}

// TestRunOutUnwritable: an -out path that cannot be written is an error
// that names it, before the model runs.
func TestRunOutUnwritable(t *testing.T) {
	photo := writePhoto(t, t.TempDir(), 64, 64)
	bad := filepath.Join(t.TempDir(), "missing", "dir", "x.npy")

	_, err := runCaptured(t, "-weights", filepath.Join(golden.Dir(t), "..", "missing.safetensors"), "-image", photo, "-out", bad)
	if err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("got %v, want an error naming %s", err, bad)
	}
	if strings.Contains(err.Error(), "missing.safetensors") {
		t.Errorf("the model was opened before -out was checked: %v", err)
	}
}

// TestRunNaFlexTokens: -tokens on a NaFlex model takes SigLIP 2's budget
// rule (imageprep.BudgetNaFlex), not the generic one.
func TestRunNaFlexTokens(t *testing.T) {
	f := golden.Open(t, "naflex_siglip.safetensors")
	hub := golden.WriteHubFolder(t, f, t.TempDir())
	photo := writePhoto(t, t.TempDir(), 100, 223)
	sz, err := imageprep.NaFlexSize(100, 223, 16, 256)
	h, w := sz.H, sz.W
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "o.safetensors")
	if _, err := runCaptured(t, "-weights", hub, "-image", photo, "-tokens", "256", "-out", out); err != nil {
		t.Fatal(err)
	}
	res, err := tensorfile.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	if g := res.Metadata()["input_size"]; g != fmt.Sprintf("[%d, %d]", h, w) {
		t.Errorf("input size %s, want SigLIP 2's %dx%d", g, h, w)
	}
}

// TestRunSwinLargeImage: Swin counts first-stage patches against its cap,
// so the command must not hold a 640² image (25600 patches at patch 4)
// to a ViT's 16384 tokens: it once checked the last stage's grid, passed,
// and the forward pass then failed on the cap it had passed to Load.
// -max-tokens below the image's patches still refuses it.
func TestRunSwinLargeImage(t *testing.T) {
	if testing.Short() {
		t.Skip("a 640² forward pass")
	}
	f := golden.Open(t, "swinv2_cpb.safetensors")
	hub := golden.WriteHubFolder(t, f, t.TempDir())
	photo := writePhoto(t, t.TempDir(), 640, 640)
	if _, err := runCaptured(t, "-weights", hub, "-image", photo, "-size", "640", "-top", "1"); err != nil {
		t.Fatalf("640² Swin image: %v", err)
	}
	_, err := runCaptured(t, "-weights", hub, "-image", photo, "-size", "640", "-max-tokens", "16384")
	if err == nil || !strings.Contains(err.Error(), "limit of 16384") {
		t.Errorf("-max-tokens 16384: got %v, want the command's limit error", err)
	}
}

// TestRunHubDefaultEdge: without -edge, every folder of testdata/hub runs
// the photo at its own size, whatever its sides: Swin and Hiera, whose
// library default (timm's) refuses sides that are not whole patches, crop.
func TestRunHubDefaultEdge(t *testing.T) {
	entries, err := os.ReadDir(hubDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		got, err := runCaptured(t, "-weights", filepath.Join(hubDir, e.Name()), "-image", hillsJPG, "-top", "1")
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		if !strings.Contains(got, "class") && !strings.Contains(got, "no classifier head") && !strings.Contains(got, "projection") {
			t.Errorf("%s: output:\n%s", e.Name(), got)
		}
	}
	// The library's own default still refuses, as timm does: the command
	// chose crop, the model did not.
	m, err := anyres.Load(filepath.Join(hubDir, "swin_small_window"), anyres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	var out anyres.Output
	if err := m.Forward(anyres.Image{C: 3, H: 33, W: 50, Pix: make([]float32, 3*33*50)}, &out); !errors.Is(err, anyres.ErrImage) {
		t.Errorf("library default on 33×50: got %v, want ErrImage", err)
	}
}
