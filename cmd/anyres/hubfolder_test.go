package main

import (
	"bytes"
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
	// A file where a folder would go is refused, not written over.
	file := filepath.Join(t.TempDir(), "plain")
	os.WriteFile(file, []byte("x"), 0o644)
	if err := runQuantize([]string{"-in", in, "-out", file}); err == nil {
		t.Error("quantize -out an existing file without .safetensors: no error")
	}
}
