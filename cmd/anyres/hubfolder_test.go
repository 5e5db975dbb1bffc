package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestQuantizeHubFolder: quantize takes a hub folder and, given an -out
// that is not a .safetensors file, writes one (config.json beside
// model.safetensors) that run runs quantized without -dtype, saying so.
func TestQuantizeHubFolder(t *testing.T) {
	in := filepath.Join(hubDir, "vit_cls_learned")
	for _, dtype := range []string{"int8", "bf16"} {
		out := filepath.Join(t.TempDir(), "q") // does not exist yet
		if _, err := capturedStderr(func() error { return runQuantize([]string{"-in", in, "-out", out, "-dtype", dtype}) }); err != nil {
			t.Fatalf("%s: %v", dtype, err)
		}
		want, err := os.ReadFile(filepath.Join(in, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(out, "config.json"))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: config.json beside the weights: %v (same as the input's: %v)", dtype, err, bytes.Equal(got, want))
		}
		log, err := capturedStderr(func() error {
			_, err := runCaptured(t, "-weights", out, "-image", hillsJPG, "-top", "1")
			return err
		})
		if err != nil {
			t.Fatalf("%s: run: %v", dtype, err)
		}
		if !strings.Contains(log, "tokens, "+dtype+",") {
			t.Errorf("%s: the timing line does not name the stored dtype:\n%s", dtype, log)
		}
		// -dtype still decides when given.
		log, err = capturedStderr(func() error {
			_, err := runCaptured(t, "-weights", out, "-image", hillsJPG, "-top", "1", "-dtype", "f32")
			return err
		})
		if err != nil || !strings.Contains(log, "tokens, f32,") {
			t.Errorf("%s: -dtype f32: %v\n%s", dtype, err, log)
		}
	}
	// The input folder is not an output.
	if err := runQuantize([]string{"-in", in, "-out", in}); err == nil {
		t.Error("quantize -out its own input folder: no error")
	}
}

// TestResizeCheckpointHubFolder: resize-checkpoint takes a hub folder and
// writes one whose config.json carries the new size and patch, and which
// run loads (the config agreeing with the weights).
func TestResizeCheckpointHubFolder(t *testing.T) {
	entries, err := os.ReadDir(hubDir)
	if err != nil {
		t.Fatal(err)
	}
	ran := 0
	for _, e := range entries {
		in := filepath.Join(hubDir, e.Name())
		if _, err := os.Stat(filepath.Join(in, "config.json")); err != nil {
			continue
		}
		ck, err := openCheckpoint(filepath.Join(in, "model.safetensors"), filepath.Join(in, "config.json"))
		if err != nil || !ck.file.Has("pos_embed") || !ck.file.Has("patch_embed.proj.weight") {
			continue // not a timm ViT with a learned table
		}
		l, err := ck.layout()
		if err != nil {
			continue
		}
		if testing.Short() && ran == 1 {
			break // emulators: one folder checks the plumbing (the resampling is TestResizeCheckpointMatchesTimm's)
		}
		out := filepath.Join(t.TempDir(), "resized")
		// One patch more on each side, at a new patch size.
		p := l.patch[0] / 2
		if p < 1 {
			p = l.patch[0]
		}
		size := fmt.Sprintf("%dx%d", (l.grid.H+1)*p, (l.grid.W+2)*p)
		if _, err := capturedStderr(func() error {
			return runResizeCheckpoint([]string{"-in", in, "-out", out, "-size", size, "-patch", fmt.Sprint(p)})
		}); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		ran++
		b, err := os.ReadFile(filepath.Join(out, "config.json"))
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		var c struct {
			ModelArgs map[string]any `json:"model_args"`
		}
		if err := json.Unmarshal(b, &c); err != nil {
			t.Errorf("%s: config.json: %v", e.Name(), err)
		}
		if got := fmt.Sprint(c.ModelArgs["img_size"], c.ModelArgs["patch_size"]); got != fmt.Sprintf("[%d %d] [%d %d]", (l.grid.H+1)*p, (l.grid.W+2)*p, p, p) {
			t.Errorf("%s: config.json img_size, patch_size: %s", e.Name(), got)
		}
		if _, err := runCaptured(t, "-weights", out, "-image", hillsJPG, "-top", "1"); err != nil {
			t.Errorf("%s: run on the written folder: %v", e.Name(), err)
		}
		if _, err := capturedStderr(func() error {
			return runPosviz([]string{"-weights", out, "-out", filepath.Join(t.TempDir(), "p.png")})
		}); err != nil {
			t.Errorf("%s: posviz on the written folder: %v", e.Name(), err)
		}
	}
	if ran == 0 {
		t.Fatal("no folder of testdata/hub is a timm ViT with a learned table")
	}
}
